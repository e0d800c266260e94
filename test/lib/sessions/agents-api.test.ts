import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSession, readStream, startHarness, type Harness } from './harness'

// biome-ignore lint/suspicious/noExplicitAny: test reads loose JSON
type Json = Record<string, any>

const THREE = [
  { id: 'a', name: 'Alice', model: 'echo' },
  { id: 'b', name: 'Bob', model: 'echo', limits: { maxBudgetUsd: 0.01 } },
  { id: 'c', model: 'echo' },
]

describe('several agents in one session: the API, the roster and who is asked', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness('builtin')
  })
  afterAll(() => h.close())

  const api = (path: string, init: Parameters<Harness['request']>[1] = {}) =>
    h.request(`/api/sessions${path}`, { token: h.adminToken, ...init })
  const rosters = async (id: string) =>
    (await readStream(h, id)).events.filter((e) => e.type === 'agent-state' && e.value?.kind === 'roster')
  const turnRecords = async (id: string) =>
    (await readStream(h, id)).events.filter((e) => e.type === 'agent-state' && e.value?.kind === 'turn')
  const say = async (id: string, text: string) => {
    const res = await api(`/${id}/messages`, { json: { text } })
    expect(res.status).toBe(201)
    return ((await res.json()) as { messageId: string }).messageId
  }

  it('creates a session with an agent list: normalised record, routing defaults, and the roster logged first', async () => {
    const id = await createSession(h, { pattern: 'single-container', agents: THREE, routing: { defaultAgent: 'b' } })
    const { session } = (await (await api(`/${id}`)).json()) as { session: Json }
    expect(session.agents.map((a: Json) => [a.id, a.name])).toEqual([
      ['a', 'Alice'],
      ['b', 'Bob'],
      ['c', 'c'],
    ])
    expect(session.agents[1].limits).toEqual({ maxBudgetUsd: 0.01, maxTurns: null })
    expect(session.routing).toEqual({ defaultAgent: 'b', unaddressed: 'default', maxAgentTurnsInARow: 4 })
    // seed 001's single-agent view: the default agent's config
    expect(session.agent).toEqual({ model: 'echo' })
    const [first, ...rest] = (await readStream(h, id)).events
    expect(first.type).toBe('agent-state')
    expect(first.value).toMatchObject({ kind: 'roster', id: 'roster', defaultAgent: 'b', change: { action: 'created', by: 'admin-user' } })
    expect(first.value.agents).toEqual([
      { id: 'a', name: 'Alice' },
      { id: 'b', name: 'Bob' },
      { id: 'c', name: 'c' },
    ])
    expect(rest).toEqual([])
  })

  it('a message mentioning @a and @Bob asks a and b; an unaddressed one asks the default agent only', async () => {
    const id = await createSession(h, { pattern: 'hybrid', agents: THREE, routing: { defaultAgent: 'c' } })
    const m1 = await say(id, 'hi @a and @bob, what do you think?')
    const m2 = await say(id, 'anyone there? mail me at x@a.com')
    const records = await turnRecords(id)
    expect(records.map((r) => [r.key, r.value.agentId, r.value.status, r.value.depth])).toEqual([
      [`turn:${m1}@a`, 'a', 'accepted', 0],
      [`turn:${m1}@b`, 'b', 'accepted', 0],
      [`turn:${m2}@c`, 'c', 'accepted', 0],
    ])
  })

  it("with routing 'all' an unaddressed message asks every agent", async () => {
    const id = await createSession(h, { pattern: 'hybrid', agents: THREE.slice(0, 2), routing: { unaddressed: 'all' } })
    const m = await say(id, 'status report please')
    expect((await turnRecords(id)).map((r) => r.value.agentId)).toEqual(['a', 'b'])
    expect((await turnRecords(id)).every((r) => r.value.messageId === m)).toBe(true)
  })

  it('a single-agent session keeps issue 10 records: one turn:<messageId> without an agent id, no roster', async () => {
    const id = await createSession(h, { agent: { model: 'echo' } })
    const { session } = (await (await api(`/${id}`)).json()) as { session: Json }
    expect(session.agents).toEqual([{ id: 'agent', name: 'agent', model: 'echo', limits: { maxBudgetUsd: null, maxTurns: null } }])
    const m = await say(id, '@someone hello')
    const records = await turnRecords(id)
    expect(records.map((r) => r.key)).toEqual([`turn:${m}`])
    expect(records[0].value.agentId).toBeUndefined()
    expect(await rosters(id)).toEqual([])
  })

  it('adds and removes agents live: each change a roster entry, a removed agent gets a stop control, routing follows', async () => {
    const id = await createSession(h, { pattern: 'single-container', agents: THREE.slice(0, 2) })
    const added = await api(`/${id}/agents`, { json: { id: 'd', name: 'Dora', model: 'echo' } })
    expect(added.status).toBe(201)
    expect(((await added.json()) as Json).session.agents.map((a: Json) => a.id)).toEqual(['a', 'b', 'd'])
    const m = await say(id, '@dora please')
    expect((await turnRecords(id)).map((r) => r.key)).toEqual([`turn:${m}@d`])

    const removed = await api(`/${id}/agents/a`, { method: 'DELETE' })
    expect(removed.status).toBe(200)
    const session = ((await removed.json()) as Json).session
    expect(session.agents.map((a: Json) => a.id)).toEqual(['b', 'd'])
    // a was the default: the first remaining agent is now
    expect(session.routing.defaultAgent).toBe('b')
    const events = (await readStream(h, id)).events
    const stop = events.find((e) => e.value?.kind === 'control' && e.value.agentId === 'a')
    expect(stop?.value).toMatchObject({ action: 'stop', reason: 'removed', requestedBy: 'admin-user' })
    expect((await rosters(id)).map((r) => r.value.change.action)).toEqual(['created', 'added', 'removed'])
    // a later '@a' asks nobody named a: it goes to the default agent
    const later = await say(id, '@a are you there?')
    expect((await turnRecords(id)).at(-1)?.key).toBe(`turn:${later}@b`)

    const list = (await (await api(`/${id}/agents`)).json()) as Json
    expect(list.agents.map((a: Json) => a.id)).toEqual(['b', 'd'])
    expect(list.roster.defaultAgent).toBe('b')
    // no agent has reported yet: zero rows for the listed ones, none for a removed agent that never ran
    expect(list.usage.map((u: Json) => [u.agentId, u.status, u.tokensIn, u.costUsd, u.turns])).toEqual([
      ['b', null, 0, 0, 0],
      ['d', null, 0, 0, 0],
    ])
    // b reports (its worker writes its own agent-state): the list shows it, and the rows sum to the session's usage
    const bToken = await h.app.issueToken({ role: 'worker', sessionId: id, subject: 'b' })
    const state = { kind: 'state', agentId: 'b', status: 'idle', tokensIn: 7, tokensOut: 11, costUsd: 0.25, turns: 2 }
    expect((await h.request(`/api/streams?sessionId=${id}`, { token: bToken, json: { channel: 'agent-state', data: state } })).status).toBe(
      200,
    )
    const after = (await (await api(`/${id}/agents`)).json()) as Json
    expect(after.usage[0]).toMatchObject({ agentId: 'b', status: 'idle', tokensIn: 7, tokensOut: 11, costUsd: 0.25, turns: 2 })
    const { session: record } = (await (await api(`/${id}`)).json()) as Json
    expect(record.usage).toMatchObject({ tokensIn: 7, tokensOut: 11, costUsd: 0.25, turns: 2 })
  })

  it('refuses bad changes with reasons: duplicate id, bad id, the last agent, unknown agent, both agent and agents', async () => {
    const id = await createSession(h, { pattern: 'hybrid', agents: [{ id: 'a', model: 'echo' }] })
    const dup = await api(`/${id}/agents`, { json: { id: 'a', model: 'echo' } })
    expect(dup.status).toBe(409)
    expect(((await dup.json()) as Json).error).toMatch(/already has an agent a/)
    const bad = await api(`/${id}/agents`, { json: { id: 'Not A Slug!', model: 'echo' } })
    expect(bad.status).toBe(400)
    const last = await api(`/${id}/agents/a`, { method: 'DELETE' })
    expect(last.status).toBe(409)
    expect(((await last.json()) as Json).error).toMatch(/at least one agent/)
    expect((await api(`/${id}/agents/zz`, { method: 'DELETE' })).status).toBe(404)
    const both = await api('', { json: { pattern: 'hybrid', agent: { model: 'echo' }, agents: [{ id: 'a', model: 'echo' }] } })
    expect(both.status).toBe(400)
    const dupList = await api('', { json: { pattern: 'hybrid', agents: [{ id: 'a' }, { id: 'a' }] } })
    expect(dupList.status).toBe(400)
  })

  it('PATCH replaces the list and routing; dropped agents are stopped; `agent` patches the default one', async () => {
    const id = await createSession(h, { pattern: 'single-container', agents: THREE })
    const res = await api(`/${id}`, {
      method: 'PATCH',
      json: { agents: [THREE[0], { id: 'e', model: 'echo' }], routing: { unaddressed: 'all' } },
    })
    expect(res.status).toBe(200)
    const session = ((await res.json()) as Json).session
    expect(session.agents.map((a: Json) => a.id)).toEqual(['a', 'e'])
    expect(session.routing.unaddressed).toBe('all')
    const stops = (await readStream(h, id)).events.filter((e) => e.value?.kind === 'control').map((e) => e.value.agentId)
    expect(stops.sort()).toEqual(['b', 'c'])
    const patched = await api(`/${id}`, { method: 'PATCH', json: { agent: { systemPrompt: 'be brief' } } })
    const after = ((await patched.json()) as Json).session
    expect(after.agents.map((a: Json) => a.id)).toEqual(['a', 'e'])
    expect(after.agents[0].systemPrompt).toBe('be brief')
  })

  describe('who may do what', () => {
    it('viewers and collaborators read the list; only admin or the owner change it; workers only get tokens in single-container sessions', async () => {
      const id = await createSession(h, { pattern: 'single-container', agents: THREE })
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId: id, subject: 'u1' })
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: id, subject: 'u2' })
      const worker = await h.app.issueToken({ role: 'worker', sessionId: id, subject: 'a' })
      const owner = await h.app.issueToken({ role: 'collaborator', sessionId: id, subject: 'admin-user' })
      for (const token of [collab, viewer, worker]) {
        expect((await api(`/${id}/agents`, { token })).status).toBe(200)
        expect((await api(`/${id}/agents`, { token, json: { id: 'x', model: 'echo' } })).status).toBe(403)
        expect((await api(`/${id}/agents/a`, { token, method: 'DELETE' })).status).toBe(403)
      }
      // the owner (the person who created it) may, with a collaborator token of that session
      expect((await api(`/${id}/agents`, { token: owner, json: { id: 'x', model: 'echo' } })).status).toBe(201)

      for (const token of [collab, viewer]) expect((await api(`/${id}/agents/b/token`, { token, method: 'POST' })).status).toBe(403)
      const minted = await api(`/${id}/agents/b/token`, { token: worker, method: 'POST' })
      expect(minted.status).toBe(201)
      const { token: bToken } = (await minted.json()) as { token: string }
      const claims = JSON.parse(Buffer.from(bToken.split('.')[1]!, 'base64url').toString()) as Json
      expect(claims).toMatchObject({ role: 'worker', sid: id, sub: 'b' })
      expect((await api(`/${id}/agents/nobody/token`, { token: worker, method: 'POST' })).status).toBe(404)

      // nobody but the server writes the roster: not a collaborator, not a worker (raw or writer)
      const roster = {
        kind: 'roster',
        id: 'roster',
        agents: [{ id: 'evil', name: 'Evil' }],
        defaultAgent: 'evil',
        unaddressed: 'default',
        maxAgentTurnsInARow: 99,
      }
      for (const token of [collab, worker]) {
        const viaWriter = await h.request(`/api/streams?sessionId=${id}`, { token, json: { channel: 'agent-state', data: roster } })
        expect(viaWriter.status).toBe(403)
        const raw = await h.request(`/api/streams/sessions/${id}`, {
          token,
          json: [{ type: 'agent-state', key: 'roster', value: { ...roster, timestamp: Date.now() }, headers: { operation: 'upsert' } }],
        })
        expect(raw.status).toBe(403)
      }
      expect((await rosters(id)).every((r) => r.value.defaultAgent !== 'evil')).toBe(true)

      // another session's worker gets nothing here
      const other = await createSession(h, { pattern: 'hybrid', agents: THREE })
      const otherWorker = await h.app.issueToken({ role: 'worker', sessionId: other, subject: 'a' })
      expect((await api(`/${id}/agents/b/token`, { token: otherWorker, method: 'POST' })).status).toBe(403)
      // per-agent workers (not single-container) get no tokens for their neighbours
      const refused = await api(`/${other}/agents/b/token`, { token: otherWorker, method: 'POST' })
      expect(refused.status).toBe(403)
      expect(((await refused.json()) as Json).error).toMatch(/single-container/)
    })
  })
})
