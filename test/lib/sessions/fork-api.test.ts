/**
 * The fork and workspace-snapshot routes: who may call them, what bad input gets, forks of ended
 * sessions and of turns without a snapshot (retention, the size limit). Real server, real
 * process workers (echo model), real files.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answerText, startWorkerHarness, turnEnded, type WorkerHarness } from '../workers/harness'

const KEEP = 2
/** Small enough that a 12 kB file is refused, large enough for an empty dir and a few bytes. */
const MAX_BYTES = 9_000

describe('fork and workspace-snapshot routes', { timeout: 180_000 }, () => {
  let h: WorkerHarness
  let source: string
  let other: string

  const snapshotDir = (id: string, turn: number) => join(h.dataDir, 'workspaces', id, String(turn))
  const token = (role: 'viewer' | 'collaborator' | 'worker' | 'admin', sessionId?: string, subject?: string) =>
    h.app.issueToken({ role, ...(sessionId ? { sessionId } : {}), ...(subject ? { subject } : {}) })
  const post = async (path: string, body: unknown, tok?: string) => {
    const res = await h.request(path, { json: body, ...(tok !== undefined ? { token: tok } : {}) })
    return { status: res.status, body: ((await res.json().catch(() => null)) ?? {}) as Record<string, unknown> }
  }
  async function turn(id: string, k: number, text: string) {
    await h.postMessage(id, text)
    return h.waitFor(id, (e) => turnEnded(e, k) && e, `turn ${k} of ${id}`)
  }

  beforeAll(async () => {
    h = await startWorkerHarness({
      runtime: 'process',
      hooks: {
        config: {
          enabled: true,
          runtime: 'process',
          warmPool: { process: 0 },
          heartbeatMs: 1_000,
          snapshots: { keep: KEEP, maxBytes: MAX_BYTES },
        },
      },
    })
    source = await h.createSession({ title: 'routes source' })
    other = await h.createSession({ title: 'another session' })
    await turn(source, 1, '/write a.txt one')
    await turn(source, 2, '/write b.txt two')
    await turn(source, 3, '/write c.txt three')
    await turn(source, 4, `/write big.txt ${'x'.repeat(12_000)}`)
    // The worker asks for turn 4's snapshot before it would start a turn 5: wait for its answer
    // to be logged (refused) rather than for a file that never comes.
    await h.waitFor(source, () => h.logs.some((l) => l.includes('workspace snapshot refused')), 'the refused snapshot of turn 4')
  })
  afterAll(async () => {
    await h?.close()
  })

  it('keeps the newest snapshots only and refuses one over the size limit', () => {
    expect(existsSync(snapshotDir(source, 1))).toBe(false)
    expect(existsSync(join(snapshotDir(source, 2), 'b.txt'))).toBe(true)
    expect(existsSync(join(snapshotDir(source, 3), 'c.txt'))).toBe(true)
    expect(existsSync(snapshotDir(source, 4))).toBe(false)
  })

  it('answers 413 with the reason when the work dir is over the limit', async () => {
    const res = await post(`/api/sessions/${source}/workspace-snapshots`, { turn: 4 })
    expect(res.status).toBe(413)
    expect(String((res.body.error as { message?: string })?.message ?? JSON.stringify(res.body))).toMatch(/over the snapshot limit/)
  })

  it("lets the session's own worker and an admin snapshot; refuses viewers, collaborators and other sessions' workers", async () => {
    // `other` has a running worker and a small (empty) work dir.
    const path = `/api/sessions/${other}/workspace-snapshots`
    expect((await post(path, { turn: 1 }, await token('worker', other, 'agent'))).status).toBe(201)
    const admin = await post(path, { turn: 1, messageId: 'm' })
    expect(admin.status).toBe(201)
    expect(admin.body).toMatchObject({ turn: 1 })
    expect(admin.body.bytes).toBeGreaterThan(0)
    for (const tok of [
      await token('viewer', other),
      await token('collaborator', other, 'u1'),
      await token('worker', source, 'agent'),
      await token('admin', source, 'a1'),
    ]) {
      expect((await post(path, { turn: 2 }, tok)).status).toBe(403)
    }
    expect((await post(path, { turn: 2 }, null as unknown as string)).status).toBe(401)
    expect(existsSync(snapshotDir(other, 2))).toBe(false)
  })

  it('answers bad snapshot input and methods with 4xx and a reason', async () => {
    expect((await post(`/api/sessions/${source}/workspace-snapshots`, { turn: 0 })).status).toBe(400)
    expect((await post(`/api/sessions/${source}/workspace-snapshots`, { turn: 1, extra: true })).status).toBe(400)
    expect((await post('/api/sessions/s_nope/workspace-snapshots', { turn: 1 })).status).toBe(404)
    const get = await h.request(`/api/sessions/${source}/workspace-snapshots`)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
  })

  it('lets only an admin for all sessions fork', async () => {
    for (const tok of [
      await token('viewer', source),
      await token('collaborator', source, 'u1'),
      await token('worker', source, 'agent'),
      await token('admin', source, 'a1'),
    ]) {
      const res = await post(`/api/sessions/${source}/fork`, { turn: 2 }, tok)
      expect(res.status).toBe(403)
    }
  })

  it('answers a turn that does not exist, a missing turn and an unknown session with 4xx and a reason', async () => {
    const none = await post(`/api/sessions/${source}/fork`, { turn: 9 })
    expect(none.status).toBe(400)
    expect(JSON.stringify(none.body)).toContain('turn 9 does not exist')
    expect((await post(`/api/sessions/${source}/fork`, {})).status).toBe(400)
    expect((await post(`/api/sessions/${source}/fork`, { messageId: 'no-such-message' })).status).toBe(400)
    expect((await post(`/api/sessions/${source}/fork`, { turn: -1 })).status).toBe(400)
    expect((await post('/api/sessions/s_nope/fork', { turn: 1 })).status).toBe(404)
  })

  it('forks at a turn without a snapshot with an empty workspace, and says so', async () => {
    const res = await post(`/api/sessions/${source}/fork`, { turn: 4, title: 'no files' })
    expect(res.status).toBe(201)
    expect(res.body.workspace).toBe('missing')
    const fork = (res.body.session as { id: string; title: string }).id
    expect((res.body.session as { title: string }).title).toBe('no files')
    const events = await turn(fork, 5, '/ls')
    const note = events.find((e) => e.type === 'chunk' && e.value.role === 'system')
    expect(note?.value.delta).toContain('No workspace snapshot')
    expect(answerText(events, 5)).not.toMatch(/[abc]\.txt|big\.txt/)
  })

  it('forks an ended session; the fork starts open and goes its own way', async () => {
    const ended = await h.createSession({ title: 'to end' })
    const messageId = await h.postMessage(ended, '/write kept.txt yes')
    await h.waitFor(ended, (e) => turnEnded(e, 1), 'turn 1')
    await h.waitFor(ended, () => existsSync(join(snapshotDir(ended, 1), 'kept.txt')), 'snapshot 1')
    expect((await h.request(`/api/sessions/${ended}/terminate`, { json: {} })).status).toBe(200)
    const res = await post(`/api/sessions/${ended}/fork`, { messageId })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ workspace: 'copied', session: { status: 'active', forkedFrom: { sessionId: ended, turn: 1 } } })
    const fork = (res.body.session as { id: string }).id
    const events = await turn(fork, 2, '/ls')
    expect(answerText(events, 2)).toContain('kept.txt')
    // The source stays ended and closed.
    const src = (await (await h.request(`/api/sessions/${ended}`)).json()) as { session: { status: string } }
    expect(src.session.status).toBe('terminated')
  })

  it('deletes the snapshots with the session', async () => {
    expect(existsSync(join(h.dataDir, 'workspaces', source))).toBe(true)
    expect((await h.request(`/api/sessions/${source}`, { method: 'DELETE' })).status).toBe(204)
    expect(existsSync(join(h.dataDir, 'workspaces', source))).toBe(false)
  })
})
