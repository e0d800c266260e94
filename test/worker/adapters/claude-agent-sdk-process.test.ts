/**
 * A session whose agent runs the claude-agent-sdk adapter, end to end on the process runtime with
 * TETHER_SANDBOX=off (the cheaper twin of test/lib/workers/docker-claude-agent-sdk.test.ts): the
 * real app over HTTP, a real bundled worker, the real Claude Code binary, its model calls through
 * the worker's model proxy to the gateway's native Anthropic endpoint serving `echo` (the offline
 * test double for paid APIs). Streamed text, a Bash call, Stop, a SIGKILLed worker.
 */
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

const AGENT = { model: 'echo', adapter: 'claude-agent-sdk' }

/** Claude Code processes under the worker (`pid`). */
const claudeChildrenOf = (pid: number): number[] => descendantProcesses(pid, 'claude-agent-sdk-linux')

describe('claude-agent-sdk adapter on the process runtime (TETHER_SANDBOX=off)', { timeout: 180_000 }, () => {
  let h: WorkerHarness

  beforeAll(async () => {
    h = await startUnsandboxedProcessHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  const workerPid = (sessionId: string) => workerPidOf(h, sessionId)

  it('answers with streamed text, then runs a Bash call through Claude Code', async () => {
    const id = await h.createSession({ agent: AGENT })
    // /slow: a word every 40 ms (about 2.4 s), so the answer arrives as several chunks even when
    // Claude Code hands over its deltas in bursts under load (a plain echo's 5 words take ~5 ms,
    // inside one 50 ms chunk window).
    const words = `hello from a person, ${Array.from({ length: 56 }, (_, i) => `w${i + 1}`).join(' ')}`
    await h.postMessage(id, `/slow ${words}`)
    const events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1', 120_000)
    expect(answerText(events, 1)).toBe(`Echo: ${words}`)
    expect(ofType(events, 'chunk').filter((c) => c.value.role === 'assistant' && c.value.turn === 1).length).toBeGreaterThan(1)

    await expectShellTurn(h, id, 'Bash')
  })

  it('Stop cancels the turn and Claude Code exits', async () => {
    const id = await h.createSession({ agent: AGENT })
    await h.postMessage(id, `/slow ${'word '.repeat(300)}`)
    await h.waitFor(id, (e) => answerText(e, 1).length > 20, 'some streamed text')
    const pid = await workerPid(id)
    expect(claudeChildrenOf(pid).length).toBe(1)
    await h.request(`/api/streams?sessionId=${id}`, {
      json: { channel: 'agent-state', data: { kind: 'control', action: 'cancel', reason: 'user', requestedBy: 'admin-user' } },
    })
    const events = await h.waitFor(id, (e) => lastTurnStatus(e) === 'cancelled' && e, 'the turn to be cancelled')
    expect(answerText(events, 1).length).toBeLessThan('Echo: '.length + 'word '.length * 300)
    await h.waitFor(id, () => claudeChildrenOf(pid).length === 0, 'claude code to exit')
    // The session still answers.
    await h.postMessage(id, 'still there?')
    const after = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2')
    expect(answerText(after, 2)).toBe('Echo: still there?')
  })

  it('a SIGKILLed worker comes back and the turn ends done, nothing lost or duplicated', async () => {
    const id = await h.createSession({ agent: AGENT })
    const words = Array.from({ length: 60 }, (_, i) => `w${i + 1}`).join(' ')
    await h.postMessage(id, `/slow ${words}`)
    await h.waitFor(id, (e) => answerText(e, 1).split(' ').length >= 8, 'the turn to be under way')
    process.kill(await workerPid(id), 'SIGKILL')
    await expectResumedTurn(h, id, words, 120_000)
  })
})
