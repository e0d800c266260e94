/**
 * Issue #11, bar 2 for the claude-agent-sdk adapter, in the docker runtime: a session whose agent
 * runs Claude Code (the SDK's binary, in the worker image) answers with streamed text and a Bash
 * call that runs inside the session's container as uid 1000, obeys Stop (turn cancelled, Claude
 * Code gone), and survives `docker kill` mid-turn (a new container, the turn ends done, nothing
 * lost or duplicated). Its model calls go through the worker's model proxy to the gateway's native
 * Anthropic endpoint serving `echo` (the offline test double for paid APIs); the container has no
 * network, so nothing else is reachable.
 */
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { containerNameFor, LABELS } from '../../../src/lib/workers/runtimes/docker'
import {
  answerText,
  chunkGaps,
  duplicateImmutableEvents,
  containerProcesses,
  lastTurnStatus,
  ofType,
  prepareDocker,
  startDockerHarness,
  turnEnded,
  type WorkerHarness,
} from './harness'

const AGENT = { model: 'echo', adapter: 'claude-agent-sdk' }

let docker: Docker

/** Claude Code processes in the container (`pid uid args`). */
const claudeProcesses = (containerId: string) => containerProcesses(docker, containerId, 'claude-agent-sdk-linux')

beforeAll(async () => {
  docker = await prepareDocker()
})

describe('docker: the claude-agent-sdk adapter', { timeout: 300_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startDockerHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  const containersOf = (sessionId: string) => docker.listContainers({ all: true, filters: { label: [`${LABELS.session}=${sessionId}`] } })

  it('streams an answer and runs a Bash call inside the container as uid 1000', async () => {
    const id = await h.createSession({ agent: AGENT })
    // /slow, 60 words at 40 ms each: several chunks even when Claude Code's deltas come in bursts.
    const words = `hello from docker, ${Array.from({ length: 57 }, (_, i) => `w${i + 1}`).join(' ')}`
    await h.postMessage(id, `/slow ${words}`)
    let events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1', 180_000)
    expect(answerText(events, 1)).toBe(`Echo: ${words}`)
    expect(ofType(events, 'chunk').filter((c) => c.value.role === 'assistant' && c.value.turn === 1).length).toBeGreaterThan(1)
    const container = await docker.getContainer(containerNameFor(id)).inspect()
    expect(container.Name).toBe(`/tether-agent-${id}`)

    await h.postMessage(id, '/run id -u; cat /etc/hostname')
    events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2', 120_000)
    const final = ofType(events, 'tool-call').at(-1)!.value
    expect(final).toMatchObject({ name: 'Bash', status: 'succeeded' })
    const output = JSON.stringify(final.output)
    expect(output).toMatch(/\b1000\b/)
    expect(output).toContain(container.Id.slice(0, 12))
    expect(answerText(events, 2)).toContain(container.Id.slice(0, 12))
  })

  it('Stop cancels the turn and Claude Code exits in the container', async () => {
    const id = await h.createSession({ agent: AGENT })
    await h.postMessage(id, `/slow ${'word '.repeat(300)}`)
    await h.waitFor(id, (e) => answerText(e, 1).length > 20, 'some streamed text', 180_000)
    const [container] = await containersOf(id)
    expect(await claudeProcesses(container!.Id)).toHaveLength(1)
    await h.request(`/api/streams?sessionId=${id}`, {
      json: { channel: 'agent-state', data: { kind: 'control', action: 'cancel', reason: 'user', requestedBy: 'admin-user' } },
    })
    const events = await h.waitFor(id, (e) => lastTurnStatus(e) === 'cancelled' && e, 'the turn to be cancelled', 60_000)
    expect(answerText(events, 1).length).toBeLessThan('Echo: '.length + 'word '.length * 300)
    await expect.poll(() => claudeProcesses(container!.Id), { timeout: 30_000, interval: 250 }).toEqual([])
  })

  it('survives docker kill mid-turn: a new container, the turn ends done, nothing lost or duplicated', async () => {
    const id = await h.createSession({ agent: AGENT })
    const words = Array.from({ length: 60 }, (_, i) => `w${i + 1}`).join(' ')
    await h.postMessage(id, `/slow ${words}`)
    await h.waitFor(id, (e) => answerText(e, 1).split(' ').length >= 8, 'the turn to be under way', 180_000)
    const [before] = await containersOf(id)
    await docker.getContainer(before!.Id).kill({ signal: 'SIGKILL' })
    const events = await h.waitFor(id, (e) => lastTurnStatus(e) === 'done' && turnEnded(e, 1) && e, 'the resumed turn to end', 240_000)
    expect(answerText(events, 1)).toContain(`Echo: ${words}`)
    expect(duplicateImmutableEvents(events)).toEqual([])
    expect(chunkGaps(events.filter((e) => e.value?.folded === undefined))).toEqual([])
    const chunkIds = ofType(events, 'chunk').map((c) => c.key)
    expect(new Set(chunkIds).size).toBe(chunkIds.length)
    const after = await containersOf(id)
    expect(after).toHaveLength(1)
    expect(after[0]!.Id).not.toBe(before!.Id)
  })
})
