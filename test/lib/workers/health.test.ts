/**
 * Worker health checks with a real worker process: SIGSTOPped, it is alive to its runtime but
 * sends no heartbeat; the supervisor's heartbeat watch kills it and the crash path restarts it,
 * which then answers. Also: the worker's calls for a turn carry that turn's id as x-request-id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HeartbeatWatch } from '../../../src/lib/workers/health'
import { startWorkerHarness, type Event, type WorkerHarness } from './harness'

const HEARTBEAT_MS = 400
const MISSES = 3

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Polls until `check` holds (a hang guard, not a timing assertion). */
async function until<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('worker heartbeat health checks (process runtime)', () => {
  let h: WorkerHarness
  const seen: Array<{ path: string; requestId: string | null }> = []

  beforeAll(async () => {
    h = await startWorkerHarness({
      runtime: 'process',
      heartbeatMs: HEARTBEAT_MS,
      hooks: {
        config: { enabled: true, runtime: 'process', warmPool: { process: 0 }, heartbeatMs: HEARTBEAT_MS, heartbeatMisses: MISSES },
      },
    })
    // What the server is sent (the harness's HTTP server calls app.fetch at each request).
    const inner = h.app.fetch.bind(h.app)
    h.app.fetch = (req) => {
      seen.push({ path: new URL(req.url).pathname, requestId: req.headers.get('x-request-id') })
      return inner(req)
    }
  })

  afterAll(async () => {
    await h?.close()
  })

  it('kills a worker that is alive but silent and restarts it as a crash; the restarted worker answers', async () => {
    const watch = (h.supervisor as unknown as { heartbeats: HeartbeatWatch }).heartbeats
    expect(watch.staleAfterMs).toBe(HEARTBEAT_MS * MISSES)
    const sessionId = await h.createSession()
    const first = await h.postMessage(sessionId, 'hello')
    await h.waitFor(sessionId, (evs) => evs.some((e) => e.type === 'chunk' && e.value.role === 'assistant' && e.value.done), 'the first answer')

    // The worker's calls for that turn (model step, appends) carried the turn id as request id.
    const turnCalls = seen.filter((s) => s.requestId === `turn:${first}`)
    expect(turnCalls.some((s) => s.path.endsWith(`/${sessionId}/model`))).toBe(true)
    expect(turnCalls.some((s) => s.path === `/api/streams/sessions/${sessionId}`)).toBe(true)

    const worker = h.supervisor.workerOf(sessionId)
    expect(worker).toMatchObject({ phase: 'running', restarts: 0 })
    const runtime = await h.supervisor.runtime('process')
    const pid = Number((await runtime.inspect(worker!.workerId!))!.nativeId)
    expect(alive(pid)).toBe(true)

    process.kill(pid, 'SIGSTOP')
    try {
      await until(() => {
        const w = h.supervisor.workerOf(sessionId)
        return w && w.restarts >= 1 && w.phase === 'running'
      }, 'the silent worker to be restarted')
    } finally {
      // Never leave a stopped process behind if the watch failed.
      if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
    expect(watch.kills).toBe(1)
    expect(alive(pid)).toBe(false)
    const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>)
    const stale = lines.find((l) => l.msg === 'worker heartbeat stale; killing it (restarted as a crash)')
    expect(stale).toMatchObject({ sessionId, runtime: 'process' })
    expect(Number(stale!.silentMs)).toBeGreaterThan(HEARTBEAT_MS * MISSES)
    expect(lines.some((l) => l.msg === 'worker crashed; restarting' && l.sessionId === sessionId)).toBe(true)

    // The new instance serves the session.
    const newPid = Number((await runtime.inspect(h.supervisor.workerOf(sessionId)!.workerId!))!.nativeId)
    expect(newPid).not.toBe(pid)
    const second = await h.postMessage(sessionId, 'again')
    await h.waitFor(
      sessionId,
      (evs: Event[]) => {
        const turn = evs.find((e) => e.type === 'chunk' && e.value.role === 'user' && e.value.messageId === second)?.value.turn
        return turn !== undefined && evs.some((e) => e.type === 'chunk' && e.value.role === 'assistant' && e.value.turn === turn && e.value.done)
      },
      'the restarted worker to answer',
    )
    // A healthy worker is left alone: still one kill after several more heartbeat intervals' worth of checks.
    const checksBefore = watch.kills
    await watch.check()
    expect(watch.kills).toBe(checksBefore)
  })
})
