/**
 * A worker behind a server whose streams live in an external Durable Streams server (the
 * reference implementation in its own process): reads, idempotent-producer appends and crash
 * resume all go through the app's protocol gate and its proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startReferenceServer } from '../sessions/harness'
import {
  answerText,
  chunkGaps,
  duplicateImmutableEvents,
  latestAgentState,
  startWorkerHarness,
  turnEnded,
  type WorkerHarness,
} from './harness'

describe('worker on an external streams backend', { timeout: 120_000 }, () => {
  let reference: Awaited<ReturnType<typeof startReferenceServer>>
  let h: WorkerHarness
  beforeAll(async () => {
    reference = await startReferenceServer()
    h = await startWorkerHarness({ runtime: 'process', streamsUrl: reference.url })
  })
  afterAll(async () => {
    await h?.close()
    await reference?.stop()
  })

  it('answers, runs a tool, and resumes after SIGKILL without duplicates', async () => {
    const id = await h.createSession()
    await h.waitFor(id, latestAgentState, 'worker ready')
    await h.postMessage(id, '/run echo via-$((40+2))')
    let events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1')
    expect(answerText(events, 1)).toContain('via-42')
    const runtime = await h.supervisor.runtime('process')
    const info = await runtime.inspect(h.supervisor.workerOf(id)!.workerId!)
    await h.postMessage(id, '/slow /count 60')
    await h.waitFor(id, (e) => answerText(e, 2).split(' ').length >= 6, 'turn 2 under way')
    process.kill(Number(info!.nativeId), 'SIGKILL')
    events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2 after the restart')
    expect(answerText(events, 2)).toBe(Array.from({ length: 60 }, (_, i) => String(i + 1)).join(' '))
    expect(duplicateImmutableEvents(events)).toEqual([])
    expect(chunkGaps(events)).toEqual([])
    expect(latestAgentState(events)).toMatchObject({ restarts: 1 })
  })
})
