/**
 * Issue #10, raw terminal input (specs/security.md, channels × roles): `raw` is a field of an
 * `input` line, so exactly who may type may send it: the collaborator as itself. A viewer, a share
 * link, a worker, a collaborator of another session or one typing as someone else are refused
 * (403), `raw` on a line that is not input is refused with a reason (400), and nothing refused
 * reaches the stream. Through the production build's session writer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken, secretFromString, type IssueTokenOptions } from '../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../support/production-server'

const SECRET = 'terminal-raw-secret-0123456789abcdef'
let server: ProductionServer
let admin: string
const token = (opts: IssueTokenOptions) => issueToken(secretFromString(SECRET), opts)

async function newSession(): Promise<{ id: string; share: string }> {
  const res = await fetch(`${server.url}/api/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ pattern: 'long-running', title: 'raw terminal' }),
  })
  expect(res.status).toBe(201)
  const { session, shareToken } = (await res.json()) as { session: { id: string }; shareToken: string }
  return { id: session.id, share: shareToken }
}

async function write(sessionId: string, bearer: string, data: Record<string, unknown>): Promise<{ status: number; error: string }> {
  const res = await fetch(`${server.url}/api/streams?sessionId=${encodeURIComponent(sessionId)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'terminal', data }),
  })
  const text = await res.text()
  let error = ''
  try {
    error = JSON.stringify(JSON.parse(text))
  } catch {
    error = text
  }
  return { status: res.status, error }
}

async function terminalInputs(sessionId: string): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${server.url}/api/streams/sessions/${sessionId}?offset=-1`, { headers: { authorization: `Bearer ${admin}` } })
  const items = (await res.json()) as Array<{ type: string; value?: Record<string, unknown> }>
  return items.filter((e) => e.type === 'terminal').map((e) => e.value ?? {})
}

beforeAll(async () => {
  server = await startProductionServer({ TETHER_SECRET: SECRET, TETHER_WORKERS: 'off', TETHER_MONITOR_INTERVAL_MS: '0' })
  admin = await token({ role: 'admin', subject: 'admin-user' })
}, 180_000)
afterAll(() => server?.dispose())

describe('raw terminal input × roles', () => {
  it('only a collaborator typing as itself may send raw keys; the others get 403, raw on output 400', async () => {
    const { id, share } = await newSession()
    const other = await newSession()
    const keys = (source: string) => ({ kind: 'input', source, data: ':wq\r', raw: true })
    const refused: Array<[string, string, Record<string, unknown>]> = [
      ['viewer', await token({ role: 'viewer', sessionId: id }), keys('u-ann')],
      ['viewer with a user', await token({ role: 'viewer', sessionId: id, subject: 'u-vic' }), keys('u-vic')],
      ['share link', share, keys('u-ann')],
      ['worker', await token({ role: 'worker', sessionId: id, subject: 'agent-1' }), keys('agent-1')],
      ['collaborator as someone else', await token({ role: 'collaborator', sessionId: id, subject: 'u-ann' }), keys('u-bob')],
      ['collaborator of another session', await token({ role: 'collaborator', sessionId: other.id, subject: 'u-ann' }), keys('u-ann')],
    ]
    for (const [who, bearer, data] of refused) {
      const res = await write(id, bearer, data)
      expect([who, res.status], res.error).toEqual([who, 403])
    }

    const ann = await token({ role: 'collaborator', sessionId: id, subject: 'u-ann' })
    expect((await write(id, ann, keys('u-ann'))).status).toBe(200)
    const onOutput = await write(id, admin, { kind: 'output', source: 'agent-1', stream: 'stdout', data: 'x', raw: true, commandId: 'c' })
    expect(onOutput.status).toBe(400)
    expect(onOutput.error).toMatch(/raw is only for input lines/)

    const inputs = await terminalInputs(id)
    expect(inputs).toHaveLength(1)
    expect(inputs[0]).toMatchObject({ kind: 'input', source: 'u-ann', raw: true, data: ':wq\r' })
  }, 60_000)
})
