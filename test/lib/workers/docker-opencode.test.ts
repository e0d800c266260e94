/**
 * Issue #11, bar 2 for the opencode adapter, in the docker runtime: a session whose agent runs
 * `opencode serve` (the opencode binary in the worker image, as uid 1000) answers with streamed
 * text and a bash call that runs inside the session's container as uid 1000 (with no TETHER_
 * variable in its environment), obeys Stop (turn cancelled, opencode's running command killed,
 * opencode itself still serving), and survives `docker kill` mid-turn (a new container, the turn
 * ends done, nothing lost or duplicated). Its model calls go through the worker's model proxy to
 * the gateway's native Anthropic endpoint serving `echo` (the offline test double for paid APIs);
 * the container has no network, so nothing else is reachable.
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

const AGENT = { model: 'echo', adapter: 'opencode' }

let docker: Docker

const processes = (containerId: string, needle: string) => containerProcesses(docker, containerId, needle)

beforeAll(async () => {
  docker = await prepareDocker()
})

describe('docker: the opencode adapter', { timeout: 300_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startDockerHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  const containersOf = (sessionId: string) => docker.listContainers({ all: true, filters: { label: [`${LABELS.session}=${sessionId}`] } })

  it('streams an answer and runs a bash call inside the container as uid 1000', async () => {
    const id = await h.createSession({ agent: AGENT })
    // 120 words at 40 ms each: the answer streams as several chunks (a loaded machine can stall
    // the first second of a cold opencode into one).
    const words = `hello from docker, ${Array.from({ length: 116 }, (_, i) => `w${i + 1}`).join(' ')}`
    await h.postMessage(id, `/slow ${words}`)
    let events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1', 180_000)
    expect(answerText(events, 1)).toBe(`Echo: ${words}`)
    expect(ofType(events, 'chunk').filter((c) => c.value.role === 'assistant' && c.value.turn === 1).length).toBeGreaterThan(1)
    const container = await docker.getContainer(containerNameFor(id)).inspect()
    expect(container.Name).toBe(`/tether-agent-${id}`)
    // Room for opencode beside the worker: 512 MiB base + its 1 GiB (under 512 MiB alone the OOM
    // killer ended opencode mid-answer).
    expect(container.HostConfig.Memory).toBe(1536 * 1024 * 1024)
    // opencode itself runs as the sandbox user, not as the worker's root.
    const serve = await processes(container.Id, 'opencode serve')
    expect(serve).toHaveLength(1)
    expect(serve[0]).toMatch(/^\d+ 1000 /)

    await h.postMessage(id, '/run id -u; cat /etc/hostname; env')
    events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2', 120_000)
    const final = ofType(events, 'tool-call').at(-1)!.value
    expect(final).toMatchObject({ name: 'bash', status: 'succeeded' })
    const output = JSON.stringify(final.output)
    expect(output).toMatch(/\b1000\b/)
    expect(output).toContain(container.Id.slice(0, 12))
    expect(output).not.toContain('TETHER_')
    expect(answerText(events, 2)).toContain(container.Id.slice(0, 12))
  })

  it("Stop cancels the turn and kills opencode's running command; opencode serves on", async () => {
    const id = await h.createSession({ agent: AGENT })
    await h.postMessage(id, '/run sleep 97 && echo slept')
    await h.waitFor(id, (e) => ofType(e, 'tool-call').length > 0, 'the bash call', 180_000)
    const [container] = await containersOf(id)
    // bash -c '…' and its sleep
    await expect.poll(() => processes(container!.Id, 'sleep 97'), { timeout: 60_000, interval: 250 }).not.toEqual([])
    await h.request(`/api/streams?sessionId=${id}`, {
      json: { channel: 'agent-state', data: { kind: 'control', action: 'cancel', reason: 'user', requestedBy: 'admin-user' } },
    })
    const events = await h.waitFor(id, (e) => lastTurnStatus(e) === 'cancelled' && e, 'the turn to be cancelled', 60_000)
    expect(ofType(events, 'tool-call').at(-1)!.value.status).not.toBe('succeeded')
    await expect.poll(() => processes(container!.Id, 'sleep 97'), { timeout: 30_000, interval: 250 }).toEqual([])
    expect(await processes(container!.Id, 'opencode serve')).toHaveLength(1)
    await h.postMessage(id, 'still there?')
    const after = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2', 120_000)
    expect(answerText(after, 2)).toBe('Echo: still there?')
  })

  it('survives docker kill mid-turn: a new container, the turn ends done, nothing lost or duplicated', async () => {
    const id = await h.createSession({ agent: AGENT })
    // 200 words at 40 ms: the kill lands well before the end, even on a loaded machine.
    const words = Array.from({ length: 200 }, (_, i) => `w${i + 1}`).join(' ')
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
