/**
 * Issue #15, the model gateway's rule for sessions with several agents (specs/security.md), through
 * the production build: a worker token of the session is not enough; its subject must be one of
 * the session's agents and it calls only that agent's model. Tried with a subject of no agent,
 * another agent's model, a worker of another session with the same agent id, and the other roles.
 * The refusals are made before any provider call (no ledger cost: the session's usage stays 0).
 */
import { describe, expect, it } from 'vitest'
import { setupGatewayServer } from './gateway-support'

const server = setupGatewayServer('gateway-agents-secret-0123456789abcdef')
const { token, newSession } = server

async function callModel(id: string, auth: string | undefined, model: string): Promise<{ status: number; error: string }> {
  const res = await fetch(`${server.url}/api/sessions/${id}/model`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify({ model, system: '', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [], maxTokens: 16 }),
  })
  const text = await res.text()
  let error = ''
  try {
    error = String((JSON.parse(text) as { error?: unknown }).error ?? '')
  } catch {
    error = text
  }
  return { status: res.status, error }
}

describe('POST /api/sessions/:id/model with several agents: each agent its own model (production build)', () => {
  it('refuses a worker subject that is no agent, another agent’s model, and every other role; serves each agent its own', async () => {
    const agents = [
      { id: 'a', model: 'echo' },
      { id: 'b', model: 'echo:b' },
    ]
    const id = await newSession(agents)
    const other = await newSession(agents)
    const refused: Array<[string, string | undefined, string, number, RegExp]> = [
      ['worker with no agent subject', `Bearer ${await token({ role: 'worker', sessionId: id, subject: 'agent' })}`, 'echo', 403, /worker agent is not an agent of this session \(agents: a, b\)/],
      ['agent a asking for b’s model', `Bearer ${await token({ role: 'worker', sessionId: id, subject: 'a' })}`, 'echo:b', 403, /agent a's model \(echo\), not echo:b/],
      ['agent a of another session', `Bearer ${await token({ role: 'worker', sessionId: other, subject: 'a' })}`, 'echo', 403, /not valid for session/],
      ['collaborator named a', `Bearer ${await token({ role: 'collaborator', sessionId: id, subject: 'a' })}`, 'echo', 403, /worker/],
      ['viewer', `Bearer ${await token({ role: 'viewer', sessionId: id })}`, 'echo', 403, /worker/],
      ['admin', `Bearer ${server.admin}`, 'echo', 403, /worker/],
      ['no token', undefined, 'echo', 401, /missing token/],
    ]
    for (const [who, auth, model, status, reason] of refused) {
      const res = await callModel(id, auth, model)
      expect([res.status, res.error], who).toEqual([status, expect.stringMatching(reason)])
    }
    for (const [agentId, model] of [
      ['a', 'echo'],
      ['b', 'echo:b'],
    ] as const) {
      const ok = await callModel(id, `Bearer ${await token({ role: 'worker', sessionId: id, subject: agentId })}`, model)
      expect(ok.status, agentId).toBe(200)
    }
  })
})
