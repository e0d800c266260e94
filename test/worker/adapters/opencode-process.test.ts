/**
 * A session whose agent runs the opencode adapter, end to end on the process runtime with
 * TETHER_SANDBOX=off (the cheaper twin of test/lib/workers/docker-opencode.test.ts): the real app
 * over HTTP, a real bundled worker, the real `opencode serve`, its model calls through the worker's
 * model proxy to the gateway's native Anthropic endpoint serving `echo` (the offline test double
 * for paid APIs). Streamed text, a bash call, Stop (opencode's run aborted: its running command
 * is gone), a SIGKILLed worker.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  answerText,
  chunkGaps,
  duplicateImmutableEvents,
  type Event,
  latestAgentState,
  ofType,
  startWorkerHarness,
  turnEnded,
  type WorkerHarness,
} from '../../lib/workers/harness'

const AGENT = { model: 'echo', adapter: 'opencode' }

/** Pids whose command line contains `needle`, among the descendants of `root`. */
function descendants(root: number, needle: string): number[] {
  const parent = new Map<number, number>()
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      /* exited meanwhile */
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true
    return false
  }
  return [...parent.keys()].filter((pid) => {
    if (!under(pid)) return false
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(needle)
    } catch {
      return false
    }
  })
}

function turnState(events: Event[]): string | undefined {
  return ofType(events, 'agent-state')
    .filter((e) => e.value.kind === 'turn')
    .at(-1)?.value.status
}

describe('opencode adapter on the process runtime (TETHER_SANDBOX=off)', { timeout: 240_000 }, () => {
  let h: WorkerHarness

  beforeAll(async () => {
    h = await startWorkerHarness({
      runtime: 'process',
      hooks: { config: { enabled: true, runtime: 'process', warmPool: { process: 0, docker: 0 }, heartbeatMs: 1_000, sandbox: 'off' } },
    })
  })
  afterAll(async () => {
    await h?.close()
  })

  async function workerPid(sessionId: string): Promise<number> {
    const w = h.supervisor.workerOf(sessionId)
    if (!w?.workerId) throw new Error('no worker')
    const info = await (await h.supervisor.runtime('process')).inspect(w.workerId)
    return Number(info?.nativeId)
  }

  it('answers with streamed text, then runs a bash call through opencode', async () => {
    const id = await h.createSession({ agent: AGENT })
    // /slow: a word every 40 ms, so the answer arrives as several chunks.
    const words = 'hello from a person, one two three four five six seven eight nine ten'
    await h.postMessage(id, `/slow ${words}`)
    let events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1', 120_000)
    expect(answerText(events, 1)).toBe(`Echo: ${words}`)
    expect(ofType(events, 'chunk').filter((c) => c.value.role === 'assistant' && c.value.turn === 1).length).toBeGreaterThan(1)
    const pid = await workerPid(id)
    expect(descendants(pid, 'opencode serve').length).toBe(1)

    await h.postMessage(id, '/run echo hello-from-$((6*7)) && pwd')
    events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2')
    const calls = ofType(events, 'tool-call').filter((e) => e.value.turn === 2 || e.value.messageId?.includes(':t2:'))
    const final = calls.at(-1)!.value
    expect(final.name).toBe('bash')
    expect(final.status).toBe('succeeded')
    expect(JSON.stringify(final.input)).toContain('hello-from-$((6*7))')
    expect(JSON.stringify(final.output)).toContain('hello-from-42')
    expect(answerText(events, 2)).toContain('hello-from-42')
    const state = latestAgentState(events)!
    expect(state).toMatchObject({ status: 'idle', turns: 2 })
    expect(state.tokensOut).toBeGreaterThan(0)
    expect(duplicateImmutableEvents(events)).toEqual([])
    expect(chunkGaps(events)).toEqual([])
  })

  it("Stop cancels the turn and aborts opencode's run (its running command is gone)", async () => {
    const id = await h.createSession({ agent: AGENT })
    await h.postMessage(id, '/run sleep 97 && echo slept')
    await h.waitFor(
      id,
      (e) => ofType(e, 'tool-call').some((c) => c.value.status === 'running' || c.value.status === 'pending'),
      'the bash call to run',
      120_000,
    )
    const pid = await workerPid(id)
    await h.waitFor(id, () => descendants(pid, 'sleep 97').length > 0, 'sleep to start')
    await h.request(`/api/streams?sessionId=${id}`, {
      json: { channel: 'agent-state', data: { kind: 'control', action: 'cancel', reason: 'user', requestedBy: 'admin-user' } },
    })
    const events = await h.waitFor(id, (e) => turnState(e) === 'cancelled' && e, 'the turn to be cancelled')
    const call = ofType(events, 'tool-call').at(-1)!.value
    expect(call.status).not.toBe('succeeded')
    expect(JSON.stringify(call.output ?? '')).not.toContain('slept')
    await h.waitFor(id, () => descendants(pid, 'sleep 97').length === 0, "opencode's command to be killed")
    // The session still answers, from the same opencode.
    await h.postMessage(id, 'still there?')
    const after = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2')
    expect(answerText(after, 2)).toBe('Echo: still there?')
    expect(descendants(pid, 'opencode serve').length).toBe(1)
  })

  it('a SIGKILLed worker comes back and the turn ends done, nothing lost or duplicated', async () => {
    const id = await h.createSession({ agent: AGENT })
    const words = Array.from({ length: 60 }, (_, i) => `w${i + 1}`).join(' ')
    await h.postMessage(id, `/slow ${words}`)
    await h.waitFor(id, (e) => answerText(e, 1).split(' ').length >= 8, 'the turn to be under way', 120_000)
    const killed = await workerPid(id)
    const [oldOpencode] = descendants(killed, 'opencode serve')
    expect(oldOpencode).toBeGreaterThan(0)
    process.kill(killed, 'SIGKILL')
    const events = await h.waitFor(id, (e) => turnState(e) === 'done' && turnEnded(e, 1) && e, 'the resumed turn to end', 180_000)
    // The dead worker's opencode died with it (setpriv --pdeathsig): none is left serving.
    await h.waitFor(id, () => !existsSync(`/proc/${oldOpencode}`), 'the old opencode to be gone')
    // The interrupted step keeps what it streamed; the turn ran again and streamed the whole answer after it.
    expect(answerText(events, 1)).toContain(`Echo: ${words}`)
    expect(duplicateImmutableEvents(events)).toEqual([])
    expect(chunkGaps(events)).toEqual([])
  })
})
