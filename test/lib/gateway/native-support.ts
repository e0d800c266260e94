/**
 * Shared by the native wire endpoint tests (native-anthropic, native-openai): who must be refused.
 * Only a worker token of the session whose subject is one of its agents may call a provider
 * through the gateway (specs/security.md); everyone else gets 403, and no token 401.
 */
import { expect } from 'vitest'
import type { Harness } from '../sessions/harness'

/** [who, token (null: none), the status they must get] for session `id`; `other` is another session with an agent `a`. */
export async function refusedCallers(h: Harness, id: string, other: string): Promise<Array<[string, string | null, number]>> {
  const worker = (sessionId: string, subject: string) => h.app.issueToken({ role: 'worker', sessionId, subject })
  return [
    ['viewer', await h.app.issueToken({ role: 'viewer', sessionId: id, subject: 'u_viewer' }), 403],
    ['collaborator', await h.app.issueToken({ role: 'collaborator', sessionId: id, subject: 'u_collab' }), 403],
    ['admin', h.adminToken, 403],
    ['admin of the session', await h.app.issueToken({ role: 'admin', sessionId: id, subject: 'admin-2' }), 403],
    ["another session's worker", await worker(other, 'a'), 403],
    ['a worker that is not one of its agents', await worker(id, 'mallory'), 403],
    ['no token', null, 401],
  ]
}

/**
 * Makes a session and another one with `newSession`, tries `call` on the first as each refused
 * caller (it answers each path's status), expects every status to be that caller's, and no
 * provider call on the ledger.
 */
export async function expectOnlyItsAgentsServed(
  h: Harness,
  newSession: () => Promise<string>,
  call: (id: string, token: string | null) => Promise<Record<string, number>>,
): Promise<void> {
  const id = await newSession()
  const other = await newSession()
  for (const [who, token, status] of await refusedCallers(h, id, other)) {
    const got = await call(id, token)
    expect({ who, ...got }).toEqual({ who, ...Object.fromEntries(Object.keys(got).map((path) => [path, status])) })
  }
  expect(h.app.ledger.calls(id)).toEqual([])
}
