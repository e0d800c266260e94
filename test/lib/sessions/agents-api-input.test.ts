/**
 * The agent endpoints (`/api/sessions/:id/agents[/:agentId]`) against odd spellings and bad
 * bodies: each gets a 4xx with a reason, the session's agent list is unchanged, and the server
 * goes on answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSession, readStream, startHarness, type Harness } from './harness'

describe('agent endpoints refuse odd input with a reason and change nothing', () => {
  let h: Harness
  let id: string
  beforeAll(async () => {
    h = await startHarness('builtin')
    id = await createSession(h, {
      pattern: 'single-container',
      agents: [
        { id: 'a', model: 'echo' },
        { id: 'b', model: 'echo' },
      ],
    })
  })
  afterAll(() => h.close())

  const agentIds = async () => {
    const res = await h.request(`/api/sessions/${id}`, { token: h.adminToken })
    return ((await res.json()) as { session: { agents: Array<{ id: string }> } }).session.agents.map((a) => a.id)
  }
  const rosterCount = async () =>
    (await readStream(h, id)).events.filter((e) => e.type === 'agent-state' && e.value?.kind === 'roster').length

  async function expectRefused(res: Response, status: number, reason: RegExp): Promise<void> {
    expect(res.status).toBe(status)
    const text = await res.text()
    expect(text).toMatch(reason)
  }

  it('refuses agent ids that are not slugs: upper case, unicode, too long, path tricks, empty', async () => {
    const before = await rosterCount()
    for (const bad of ['Carol', 'çedric', 'x'.repeat(33), '../a', 'a/b', '', ' a', '1abc', 'a b']) {
      const res = await h.request(`/api/sessions/${id}/agents`, { token: h.adminToken, json: { id: bad, model: 'echo' } })
      await expectRefused(res, 400, /id/)
    }
    expect(await agentIds()).toEqual(['a', 'b'])
    expect(await rosterCount()).toBe(before)
  })

  it('refuses unknown fields, wrong types, a duplicate id and an unknown adapter', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ id: 'c', model: 'echo', admin: true }, 400, /unrecognized|admin/i],
      [{ id: 'c', model: 42 }, 400, /model/],
      [{ id: 'c', model: 'echo', limits: { maxTurns: -1 } }, 400, /maxTurns/],
      [{ id: 'c', model: 'echo', adapter: 'bash' }, 400, /adapter/],
      [{ id: 'a', model: 'echo' }, 409, /a/],
      [[{ id: 'c' }], 400, /./],
      ['c', 400, /./],
    ]
    for (const [json, status, reason] of cases) {
      const res = await h.request(`/api/sessions/${id}/agents`, { token: h.adminToken, json })
      await expectRefused(res, status, reason)
    }
    expect(await agentIds()).toEqual(['a', 'b'])
  })

  it('refuses a body that is not JSON, nests too deep, or is larger than the limit (413)', async () => {
    const post = (body: string) =>
      h.request(`/api/sessions/${id}/agents`, { token: h.adminToken, body, headers: { 'content-type': 'application/json' } })
    await expectRefused(await post('{"id": "c", '), 400, /JSON/)
    await expectRefused(await post(`${'['.repeat(200)}${']'.repeat(200)}`), 400, /deeper|nest/)
    const huge = JSON.stringify({ id: 'c', model: 'echo', systemPrompt: 'x'.repeat(17 * 1024 * 1024) })
    expect((await post(huge)).status).toBe(413)
    expect(await agentIds()).toEqual(['a', 'b'])
  })

  it('answers 404 for an unknown agent or session, spelled oddly or not, and keeps serving', async () => {
    for (const path of [`/api/sessions/${id}/agents/zed`, `/api/sessions/${id}/agents/a%2Fb`, `/api/sessions/${id}/agents/A`]) {
      const res = await h.request(path, { token: h.adminToken, method: 'DELETE' })
      expect(res.status).toBe(404)
      expect((await res.text()).length).toBeGreaterThan(0)
    }
    const res = await h.request('/api/sessions/no-such-session/agents', { token: h.adminToken, json: { id: 'c', model: 'echo' } })
    expect(res.status).toBe(404)
    expect(await agentIds()).toEqual(['a', 'b'])
    // Still serving: a good request goes through.
    const ok = await h.request(`/api/sessions/${id}/agents`, { token: h.adminToken, json: { id: 'c', model: 'echo' } })
    expect(ok.status).toBeLessThan(300)
    expect(await agentIds()).toEqual(['a', 'b', 'c'])
  })
})
