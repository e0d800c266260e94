/**
 * What every external adapter's process-runtime test checks the same way: a shell call the agent
 * program runs answers with its output, and a turn resumed after a SIGKILLed worker holds the
 * whole answer with nothing duplicated or missing.
 */
import { expect } from 'vitest'
import {
  answerText,
  chunkGaps,
  duplicateImmutableEvents,
  type Event,
  latestAgentState,
  lastTurnStatus,
  ofType,
  turnEnded,
  type WorkerHarness,
} from '../../lib/workers/harness'

/** Turn 2 runs `echo hello-from-$((6*7)) && pwd` through the program's shell tool, named `tool`. */
export async function expectShellTurn(h: WorkerHarness, id: string, tool: string): Promise<void> {
  await h.postMessage(id, '/run echo hello-from-$((6*7)) && pwd')
  const events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2')
  const calls = ofType(events, 'tool-call').filter((e) => e.value.turn === 2 || e.value.messageId?.includes(':t2:'))
  const final = calls.at(-1)!.value
  expect(final.name).toBe(tool)
  expect(final.status).toBe('succeeded')
  expect(JSON.stringify(final.input)).toContain('hello-from-$((6*7))')
  expect(JSON.stringify(final.output)).toContain('hello-from-42')
  expect(answerText(events, 2)).toContain('hello-from-42')
  const state = latestAgentState(events)!
  expect(state).toMatchObject({ status: 'idle', turns: 2 })
  expect(state.tokensOut).toBeGreaterThan(0)
  expect(duplicateImmutableEvents(events)).toEqual([])
  expect(chunkGaps(events)).toEqual([])
}

/** Waits for turn 1, interrupted by a worker kill, to end done; its answer holds all of `words` once. */
export async function expectResumedTurn(h: WorkerHarness, id: string, words: string, timeoutMs: number): Promise<Event[]> {
  const events = await h.waitFor(id, (e) => lastTurnStatus(e) === 'done' && turnEnded(e, 1) && e, 'the resumed turn to end', timeoutMs)
  // The interrupted step keeps what it streamed; the turn ran again and streamed the whole answer after it.
  expect(answerText(events, 1)).toContain(`Echo: ${words}`)
  expect(duplicateImmutableEvents(events)).toEqual([])
  expect(chunkGaps(events)).toEqual([])
  return events
}
