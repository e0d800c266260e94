/**
 * Fork a session at a turn, with its workspace (issue #10, bar 4), on both runtimes: a session
 * runs 5 turns, turn k writes t<k>.txt; the worker snapshots the work dir after each turn; a fork
 * at turn 3 gets a stream that is the source's up to the end of turn 3 and a work dir with
 * t1..t3 only; the source keeps t1..t5 and its stream is untouched.
 */
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dockerClient } from '../../../src/lib/workers/docker-engine'
import { ensureWorkerImage } from '../../../src/lib/workers/image/build'
import type { RuntimeKind } from '../../../src/lib/workers/runtime'
import { answerText, ensureDockerEngine, type Event, startWorkerHarness, turnEnded, type WorkerHarness } from './harness'

const TURNS = 5
const files = (text: string) => new Set(text.match(/t\d\.txt/g) ?? [])

for (const runtime of ['process', 'docker'] as RuntimeKind[]) {
  describe(`fork with the workspace (${runtime} runtime)`, { timeout: 240_000 }, () => {
    let h: WorkerHarness
    let source: string
    let sourceEvents: Event[]
    let fork: { session: { id: string; forkedFrom: { sessionId: string; turn: number; offset: string } }; workspace: string }
    let docker: Docker | undefined

    const snapshotDir = (id: string, turn: number) => join(h.dataDir, 'workspaces', id, String(turn))

    /** Asks the agent to list its work dir as turn `turn`; answers the t<k>.txt names it saw. */
    async function listFiles(id: string, turn: number): Promise<Set<string>> {
      await h.postMessage(id, '/ls')
      const events = await h.waitFor(id, (e) => turnEnded(e, turn) && e, `turn ${turn} (/ls) in ${id}`)
      return files(answerText(events, turn))
    }

    beforeAll(async () => {
      if (runtime === 'docker') {
        ensureDockerEngine()
        docker = dockerClient()
        await ensureWorkerImage({ docker })
      }
      h = await startWorkerHarness({ runtime })
      source = await h.createSession({ title: 'fork source', metadata: { workerRuntime: runtime } })
      for (let k = 1; k <= TURNS; k++) {
        await h.postMessage(source, `/write t${k}.txt written at turn ${k}`)
        await h.waitFor(source, (e) => turnEnded(e, k), `turn ${k} of the source`)
      }
      // The worker asks for a snapshot after each settled turn, before its next one.
      await h.waitFor(source, () => existsSync(snapshotDir(source, TURNS)), 'snapshot of the last turn')
      sourceEvents = await h.events(source)
      const res = await h.request(`/api/sessions/${source}/fork`, { json: { turn: 3 } })
      expect(res.status).toBe(201)
      fork = (await res.json()) as typeof fork
    })
    afterAll(async () => {
      await h?.close()
    })

    it('keeps a private snapshot of each turn under the data dir', () => {
      for (let k = 1; k <= TURNS; k++) expect(existsSync(join(snapshotDir(source, k), `t${k}.txt`))).toBe(true)
      expect(existsSync(join(snapshotDir(source, 3), 't4.txt'))).toBe(false)
      expect(statSync(snapshotDir(source, 3)).mode & 0o777).toBe(0o700)
      expect(statSync(join(h.dataDir, 'workspaces', source)).mode & 0o777).toBe(0o700)
    })

    it('answers the new session with its lineage and a copied workspace', async () => {
      expect(fork.workspace).toBe('copied')
      expect(fork.session.forkedFrom).toMatchObject({ sessionId: source, turn: 3 })
      const got = (await (await h.request(`/api/sessions/${fork.session.id}`)).json()) as { session: typeof fork.session }
      expect(got.session.forkedFrom).toEqual(fork.session.forkedFrom)
      // Usage starts from the inherited log: the source's three turns are counted.
      expect((got.session as unknown as { usage: { turns: number } }).usage.turns).toBeGreaterThanOrEqual(3)
      const src = (await (await h.request(`/api/sessions/${source}`)).json()) as { forks?: string[] }
      expect(src.forks).toEqual([fork.session.id])
      const scoped = await h.app.issueToken({ role: 'viewer', sessionId: source })
      const asViewer = (await (await h.request(`/api/sessions/${source}`, { token: scoped })).json()) as { forks?: string[] }
      expect(asViewer.forks).toBeUndefined()
      const list = (await (await h.request('/api/sessions?limit=100')).json()) as { sessions: Array<typeof fork.session & { id: string }> }
      expect(list.sessions.find((s) => s.id === fork.session.id)?.forkedFrom?.sessionId).toBe(source)
    })

    it("the fork's stream is the source's up to the end of turn 3, then its own", async () => {
      const forkEvents = await h.events(fork.session.id)
      const noteAt = forkEvents.findIndex((e) => e.type === 'chunk' && e.value.messageId === `fork:${fork.session.id}`)
      expect(noteAt).toBeGreaterThan(0)
      expect(forkEvents[noteAt]?.value).toMatchObject({ role: 'system' })
      expect(forkEvents[noteAt]?.value.delta).toContain('turn 3')
      const inherited = forkEvents.slice(0, noteAt)
      expect(inherited).toEqual(sourceEvents.slice(0, noteAt))
      // It ends with turn 3's last event, and holds all of turn 3 and nothing of turns 4 and 5.
      const lastOfTurn = inherited.findLast((e) => !(e.type === 'agent-state' && e.value.kind === 'state'))!
      expect(lastOfTurn.value.turn === 3 || lastOfTurn.value.messageId?.includes(':t3:')).toBe(true)
      expect(turnEnded(inherited, 3)).toBe(true)
      const agentTurns = new Set(inherited.filter((e) => e.type === 'chunk' && e.value.role === 'assistant').map((e) => e.value.turn))
      expect(agentTurns).toEqual(new Set([1, 2, 3]))
      const userMessages = inherited.filter((e) => e.type === 'chunk' && e.value.role === 'user' && e.value.done)
      expect(userMessages.map((e) => e.value.delta)).toEqual([1, 2, 3].map((k) => `/write t${k}.txt written at turn ${k}`))
    })

    it("the fork's agent sees the workspace as of turn 3; the source keeps all five files and its stream", async () => {
      expect(await listFiles(fork.session.id, 4)).toEqual(new Set(['t1.txt', 't2.txt', 't3.txt']))
      // Written in the fork only: the source must not see it.
      await h.postMessage(fork.session.id, '/write only-in-fork.txt x')
      await h.waitFor(fork.session.id, (e) => turnEnded(e, 5), 'fork turn 5')
      // The source's stream is as it was before the fork (same events in the same order); since
      // then only its own idle agent's heartbeats were added: nothing of the fork's.
      const now = await h.events(source)
      expect(now.slice(0, sourceEvents.length)).toEqual(sourceEvents)
      const added = now.slice(sourceEvents.length)
      expect(added.filter((e) => !(e.type === 'agent-state' && e.value.kind === 'state' && e.value.status === 'idle'))).toEqual([])
      await h.postMessage(source, '/ls')
      const events = await h.waitFor(source, (e) => turnEnded(e, TURNS + 1) && e, 'source /ls')
      const listing = answerText(events, TURNS + 1)
      expect(files(listing)).toEqual(new Set(['t1.txt', 't2.txt', 't3.txt', 't4.txt', 't5.txt']))
      expect(listing).not.toContain('only-in-fork')
    })
  })
}

describe('a hybrid session that slept', { timeout: 120_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process', monitorIntervalMs: 200 })
  })
  afterAll(async () => {
    await h?.close()
  })

  it('wakes with its files: the new worker starts from its own newest snapshot', async () => {
    const id = await h.createSession({ pattern: 'hybrid', limits: { maxIdleTimeMs: 3_000 } })
    await h.postMessage(id, '/write kept.txt still here')
    await h.waitFor(id, (e) => turnEnded(e, 1), 'turn 1')
    await h.waitFor(id, () => existsSync(join(h.dataDir, 'workspaces', id, '1', 'kept.txt')), 'snapshot of turn 1')
    // Suspended by its idle limit: the worker and its work dir are removed.
    await expect.poll(() => h.supervisor.workerOf(id), { timeout: 60_000 }).toBeNull()
    await h.postMessage(id, '/ls')
    const events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2 after waking')
    expect(answerText(events, 2)).toContain('kept.txt')
  })
})
