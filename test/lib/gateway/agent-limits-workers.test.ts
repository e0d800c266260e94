/**
 * Per-agent limits end to end (issue #15): the real app over HTTP on loopback, the process
 * runtime, one real worker process for a single-container session's three echo agents. An agent
 * past its own budget or turn limit gets its model call refused (its turn fails with the
 * gateway's reason), is stopped by the server's control addressed to it alone, and the other
 * agents keep answering; the session stays active.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentStateOf as stateOf, ofType, startWorkerHarness, type Event, type WorkerHarness } from '../workers/harness'

const turnRecord = (events: Event[], id: string): Event['value'] | undefined =>
  ofType(events, 'agent-state')
    .filter((e) => e.value.kind === 'turn' && e.value.id === id)
    .at(-1)?.value

const stopsFor = (events: Event[], agentId: string) =>
  ofType(events, 'agent-state')
    .filter((e) => e.value.kind === 'control' && e.value.action === 'stop' && e.value.agentId === agentId)
    .map((e) => e.value)

describe('per-agent limits with a real worker', { timeout: 180_000 }, () => {
  let h: WorkerHarness
  let id: string

  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process' })
    // a: $0.001, less than one call's worst case (4096 output tokens at $1/M); c: one turn.
    id = await h.createSession({
      pattern: 'single-container',
      agents: [
        { id: 'a', model: 'echo', limits: { maxBudgetUsd: 0.001 } },
        { id: 'b', model: 'echo' },
        { id: 'c', model: 'echo', limits: { maxTurns: 1 } },
      ],
    })
    await h.waitFor(id, (e) => ['a', 'b', 'c'].every((a) => stateOf(e, a)?.status === 'idle'), 'three agents idle')
  })

  afterAll(async () => {
    await h?.close()
  })

  it('an agent past its budget: its turn fails with the reason, it alone is stopped, b still answers', async () => {
    const m1 = await h.postMessage(id, '@a hi')
    let events = await h.waitFor(id, (e) => turnRecord(e, `turn:${m1}@a`)?.status === 'failed' && e, "a's turn to fail")
    expect(turnRecord(events, `turn:${m1}@a`)!.reason).toMatch(/agent a: budget: .* of the agent's \$0\.001 is spent; the agent is stopping/)
    events = await h.waitFor(id, (e) => stateOf(e, 'a')?.status === 'stopped' && e, 'a to stop')
    expect(stopsFor(events, 'a')).toEqual([expect.objectContaining({ reason: 'limit:agent-budget', requestedBy: 'gateway' })])

    const m2 = await h.postMessage(id, '@b hi')
    events = await h.waitFor(id, (e) => turnRecord(e, `turn:${m2}@b`)?.status === 'done' && e, "b's answer")
    expect(stateOf(events, 'b')?.status).toBe('idle')
    expect(stopsFor(events, 'b')).toEqual([])
    const session = (await (await h.request(`/api/sessions/${id}`)).json()) as { session: { status: string } }
    expect(session.session.status).toBe('active')
  })

  it('an agent at its turn limit: its next turn is refused and it is stopped', async () => {
    const m1 = await h.postMessage(id, '@c one')
    await h.waitFor(id, (e) => turnRecord(e, `turn:${m1}@c`)?.status === 'done', "c's first turn")
    const m2 = await h.postMessage(id, '@c two')
    let events = await h.waitFor(id, (e) => turnRecord(e, `turn:${m2}@c`)?.status === 'failed' && e, "c's second turn to fail")
    expect(turnRecord(events, `turn:${m2}@c`)!.reason).toMatch(/agent c: turn limit reached \(1 of 1\)/)
    events = await h.waitFor(id, (e) => stateOf(e, 'c')?.status === 'stopped' && e, 'c to stop')
    expect(stopsFor(events, 'c')).toEqual([expect.objectContaining({ reason: 'limit:agent-turns' })])
    const m3 = await h.postMessage(id, '@b still here')
    events = await h.waitFor(id, (e) => turnRecord(e, `turn:${m3}@b`)?.status === 'done' && e, "b's answer")
    expect(stateOf(events, 'b')?.status).toBe('idle')
  })
})
