/**
 * A session whose agent runs the opencode adapter, end to end on the process runtime with
 * TETHER_SANDBOX=off (the cheaper twin of test/lib/workers/docker-opencode.test.ts): the real app
 * over HTTP, a real bundled worker, the real `opencode serve`, its model calls through the worker's
 * model proxy to the gateway's native Anthropic endpoint serving `echo` (the offline test double
 * for paid APIs). Streamed text, a bash call, Stop (opencode's run aborted: its running command
 * is gone), a SIGKILLed worker.
 */
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  answerText,
  ofType,
  descendantProcesses,
  lastTurnStatus,
  startUnsandboxedProcessHarness,
  workerPidOf,
  turnEnded,
  type WorkerHarness,
} from '../../lib/workers/harness'
import { expectResumedTurn, expectShellTurn } from './process-turns'

const AGENT = { model: 'echo', adapter: 'opencode' }

describe('opencode adapter on the process runtime (TETHER_SANDBOX=off)', { timeout: 240_000 }, () => {
  let h: WorkerHarness

  beforeAll(async () => {
    h = await startUnsandboxedProcessHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  const workerPid = (sessionId: string) => workerPidOf(h, sessionId)

  it('answers with streamed text, then runs a bash call through opencode', async () => {
    const id = await h.createSession({ agent: AGENT })
    // /slow: a word every 40 ms, so the answer arrives as several chunks.
    // 60 words (about 2.4 s): long enough for several chunks even when opencode batches its deltas under load.
    const words = `hello from a person, ${Array.from({ length: 56 }, (_, i) => `w${i + 1}`).join(' ')}`
    await h.postMessage(id, `/slow ${words}`)
    const events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1', 120_000)
    expect(answerText(events, 1)).toBe(`Echo: ${words}`)
    expect(ofType(events, 'chunk').filter((c) => c.value.role === 'assistant' && c.value.turn === 1).length).toBeGreaterThan(1)
    const pid = await workerPid(id)
    expect(descendantProcesses(pid, 'opencode serve').length).toBe(1)

    await expectShellTurn(h, id, 'bash')
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
    await h.waitFor(id, () => descendantProcesses(pid, 'sleep 97').length > 0, 'sleep to start')
    await h.request(`/api/streams?sessionId=${id}`, {
      json: { channel: 'agent-state', data: { kind: 'control', action: 'cancel', reason: 'user', requestedBy: 'admin-user' } },
    })
    const events = await h.waitFor(id, (e) => lastTurnStatus(e) === 'cancelled' && e, 'the turn to be cancelled')
    const call = ofType(events, 'tool-call').at(-1)!.value
    expect(call.status).not.toBe('succeeded')
    expect(JSON.stringify(call.output ?? '')).not.toContain('slept')
    await h.waitFor(id, () => descendantProcesses(pid, 'sleep 97').length === 0, "opencode's command to be killed")
    // The session still answers, from the same opencode.
    await h.postMessage(id, 'still there?')
    const after = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2')
    expect(answerText(after, 2)).toBe('Echo: still there?')
    expect(descendantProcesses(pid, 'opencode serve').length).toBe(1)
  })

  it('a SIGKILLed worker comes back and the turn ends done, nothing lost or duplicated', async () => {
    const id = await h.createSession({ agent: AGENT })
    const words = Array.from({ length: 60 }, (_, i) => `w${i + 1}`).join(' ')
    await h.postMessage(id, `/slow ${words}`)
    await h.waitFor(id, (e) => answerText(e, 1).split(' ').length >= 8, 'the turn to be under way', 120_000)
    const killed = await workerPid(id)
    const [oldOpencode] = descendantProcesses(killed, 'opencode serve')
    expect(oldOpencode).toBeGreaterThan(0)
    process.kill(killed, 'SIGKILL')
    await expectResumedTurn(h, id, words, 180_000)
    // The dead worker's opencode died with it (setpriv --pdeathsig): none is left serving.
    await h.waitFor(id, () => !existsSync(`/proc/${oldOpencode}`), 'the old opencode to be gone')
  })
})
