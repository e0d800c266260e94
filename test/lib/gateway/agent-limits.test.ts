/**
 * Per-agent model, budget and turn limits at the model gateway (issue #15), over real HTTP on
 * loopback: the whole app with its SQLite file and the echo provider (offline test double,
 * priced at $1 per million tokens). The caller is the worker token's subject; past its own
 * limit an agent's calls are refused and a stop control for that agent alone is written, while
 * the session and its other agents go on. The session's own limits still apply to the total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SessionRecord } from '../../../src/lib/sessions/session-types'
import { createSession, readStream, startHarness, write, type Harness } from '../sessions/harness'

let h: Harness
beforeAll(async () => {
  h = await startHarness('builtin')
})
afterAll(() => h?.close())

const workerToken = (sessionId: string, agentId: string) => h.app.issueToken({ role: 'worker', sessionId, subject: agentId })

const step = (model: string, maxTokens?: number) => ({
  model,
  system: 'be brief',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
  tools: [],
  ...(maxTokens !== undefined ? { maxTokens } : {}),
})

/** One model call as agent `agentId`; the body read whole (NDJSON lines or the refusal). */
async function call(sessionId: string, agentId: string, body: unknown) {
  const res = await h.request(`/api/sessions/${sessionId}/model`, { token: await workerToken(sessionId, agentId), json: body })
  const text = await res.text()
  const ndjson = res.headers.get('content-type')?.includes('ndjson') === true
  const lines = ndjson ? text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []
  const json = ndjson ? {} : (JSON.parse(text) as Record<string, unknown>)
  return { status: res.status, json, lines }
}

const session = async (id: string) =>
  ((await (await h.request(`/api/sessions/${id}`, { token: h.adminToken })).json()) as { session: SessionRecord }).session

/** The stop controls in the session's stream. */
async function stopControls(id: string) {
  const { events } = await readStream(h, id)
  return events.filter((e) => e.type === 'agent-state' && e.value?.kind === 'control' && e.value.action === 'stop').map((e) => e.value)
}

describe('per-agent limits at the model gateway', () => {
  it("refuses an agent's calls past its own budget, stops that agent only, and keeps the other working", async () => {
    // a: $0.0001 = 100 echo tokens. A call with maxTokens 10 is worth at most ~30 tokens (input
    // estimated from the request's JSON); one with maxTokens 500 passes a's budget on its own.
    const id = await createSession(h, {
      agents: [
        { id: 'a', model: 'echo', limits: { maxBudgetUsd: 0.0001 } },
        { id: 'b', model: 'echo:b' },
      ],
    })
    const first = await call(id, 'a', step('echo', 10))
    expect(first.status).toBe(200)
    expect(first.lines).toContainEqual({ type: 'text', text: 'hello' })

    const refused = await call(id, 'a', step('echo', 500))
    expect(refused.status).toBe(402)
    expect(refused.json).toMatchObject({ ok: false, reason: 'agent-budget', agentId: 'a', budgetUsd: 0.0001 })
    expect(String(refused.json.error)).toMatch(/^agent a: budget: this call may cost up to .* of the agent's \$0\.0001 is spent; the agent is stopping/)

    await expect.poll(() => stopControls(id)).toEqual([
      expect.objectContaining({ kind: 'control', action: 'stop', agentId: 'a', reason: 'limit:agent-budget', requestedBy: 'gateway' }),
    ])
    // Refused again: still one stop control, not one per refusal.
    expect((await call(id, 'a', step('echo', 500))).status).toBe(402)

    // b has no budget of its own and the session none: it goes on, with a big call too.
    const other = await call(id, 'b', step('echo:b', 4096))
    expect(other.status).toBe(200)
    expect(await session(id)).toMatchObject({ status: 'active' })
    expect(await stopControls(id)).toHaveLength(1)

    // Ledger rows per agent: a's call and its two refusals, b's call; sums per agent.
    const rows = h.app.ledger.calls(id).map((r) => [r.agentId, r.status, r.model])
    expect(rows).toEqual([
      ['a', 'ok', 'echo:echo'],
      ['a', 'refused', 'echo:echo'],
      ['a', 'refused', 'echo:echo'],
      ['b', 'ok', 'echo:echo:b'],
    ])
    const byAgent = h.app.ledger.totalsByAgent(id)
    expect(byAgent.get('a')).toEqual({ inputTokens: 1, outputTokens: 2, costUsd: 3e-6 })
    expect(byAgent.get('b')).toEqual({ inputTokens: 1, outputTokens: 2, costUsd: 3e-6 })
    expect(h.app.ledger.totals(id).costUsd).toBe(6e-6)
  })

  it("refuses (403) a subject calling another agent's model, and a subject that is not an agent of the session", async () => {
    const id = await createSession(h, { agents: [{ id: 'a', model: 'echo' }, { id: 'b', model: 'echo:b' }] })
    const other = await call(id, 'a', step('echo:b'))
    expect(other.status).toBe(403)
    expect(other.json).toMatchObject({ field: 'model' })
    expect(String(other.json.error)).toContain("agent a's model (echo), not echo:b")

    const stranger = await call(id, 'mallory', step('echo'))
    expect(stranger.status).toBe(403)
    expect(String(stranger.json.error)).toContain('worker mallory is not an agent of this session (agents: a, b)')
    expect(h.app.ledger.calls(id)).toEqual([])
  })

  it("refuses an agent's calls at its own turn limit, and the monitor stops an agent at it once", async () => {
    const id = await createSession(h, {
      agents: [
        { id: 'a', model: 'echo', limits: { maxTurns: 1 } },
        { id: 'b', model: 'echo', limits: { maxTurns: 2 } },
      ],
    })
    // The agents report their turns themselves (agent-state), as workers do.
    const report = async (agentId: string, turns: number) =>
      write(h, id, [{ channel: 'agent-state', data: { agentId, status: 'idle', tokensIn: 0, tokensOut: 0, costUsd: 0, turns } }], await workerToken(id, agentId))
    await report('a', 1)
    await report('b', 1)
    const refused = await call(id, 'a', step('echo', 10))
    expect(refused.status).toBe(402)
    expect(refused.json).toMatchObject({ reason: 'agent-turns', agentId: 'a', turns: 1, maxTurns: 1 })
    expect((await call(id, 'b', step('echo', 10))).status).toBe(200)
    await expect.poll(() => stopControls(id)).toEqual([expect.objectContaining({ agentId: 'a', reason: 'limit:agent-turns' })])

    // b reaches its limit between calls: the monitor stops b (once), not the session.
    await report('b', 2)
    const tick = await h.app.monitor.tick()
    expect(tick.agentsStopped).toEqual([{ id, agentId: 'b', reason: 'limit:agent-turns' }])
    expect(tick.ended.map((e) => e.id)).not.toContain(id)
    expect((await h.app.monitor.tick()).agentsStopped).toEqual([])
    const controls = await stopControls(id)
    expect(controls.map((c) => [c.agentId, c.reason, c.requestedBy])).toEqual([
      ['a', 'limit:agent-turns', 'gateway'],
      ['b', 'limit:agent-turns', 'system'],
    ])
    expect(await session(id)).toMatchObject({ status: 'active' })
  })

  it("still ends the session when the total passes the session's budget, whichever agent calls", async () => {
    // The session's $0.001 passes no single small call, but b's default 4096-token call does.
    const id = await createSession(h, {
      agents: [
        { id: 'a', model: 'echo', limits: { maxBudgetUsd: 1 } },
        { id: 'b', model: 'echo' },
      ],
      limits: { maxBudgetUsd: 0.001 },
    })
    expect((await call(id, 'a', step('echo', 10))).status).toBe(200)
    const refused = await call(id, 'b', step('echo'))
    expect(refused.status).toBe(402)
    expect(refused.json).toMatchObject({ reason: 'budget' })
    expect(String(refused.json.error)).toContain("of the session's $0.001 is spent; the session is ending")
    await expect.poll(async () => (await session(id)).endReason).toBe('limit:budget')
    expect(await session(id)).toMatchObject({ status: 'terminated' })
    expect((await stopControls(id)).map((c) => c.agentId)).toEqual([undefined])
  })

  it('records a single-agent session\'s calls as the agent `agent`, whatever its worker\'s subject', async () => {
    const id = await createSession(h, { agent: { model: 'echo' } })
    expect((await call(id, 'worker-x', step('echo', 10))).status).toBe(200)
    expect(h.app.ledger.calls(id).map((r) => r.agentId)).toEqual(['agent'])
  })
})
