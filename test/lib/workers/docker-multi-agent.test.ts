/**
 * Issue #15, bar 3: a single-container session with three echo agents runs them in ONE
 * container; `docker kill` while every agent is mid-turn → the supervisor restarts the container,
 * every agent resumes its turn, and no event is lost or duplicated.
 */
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { containerNameFor, LABELS } from '../../../src/lib/workers/runtimes/docker'
import {
  chunkGaps,
  duplicateImmutableEvents,
  inspectContainer,
  ofType,
  prepareDocker,
  startDockerHarness,
  startWorkerHarness,
  type Event,
  type WorkerHarness,
} from './harness'

const AGENTS = ['a', 'b', 'c'] as const
const WORDS = 90
const count = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1)).join(' ')

/** An agent's answer to its turn `turn` (all steps), from its chunks; a compacted message is its folded chunk. */
function agentAnswer(events: Event[], agentId: string, turn: number): string {
  const byMessage = new Map<string, Event[]>()
  for (const c of ofType(events, 'chunk')) {
    if (c.value.role !== 'assistant' || c.value.author !== agentId || c.value.turn !== turn) continue
    byMessage.set(c.value.messageId, [...(byMessage.get(c.value.messageId) ?? []), c])
  }
  const step = (id: string) => Number(/:s(\d+)$/.exec(id)?.[1] ?? 0)
  return [...byMessage.entries()]
    .sort((x, y) => step(x[0]) - step(y[0]))
    .map(([, cs]) => cs.find((c) => c.value.folded !== undefined)?.value.delta ?? cs.sort((x, y) => x.value.seq - y.value.seq).map((c) => c.value.delta).join(''))
    .join('')
}

/** The latest turn record of each turn id. */
function turnRecords(events: Event[]): Map<string, Event['value']> {
  const out = new Map<string, Event['value']>()
  for (const e of ofType(events, 'agent-state')) if (e.value.kind === 'turn') out.set(e.value.id, e.value)
  return out
}

let docker: Docker

const inspectOrNull = (name: string) => inspectContainer(docker, name)

/** Agents whose own state entry (with a heartbeat) is in the stream. */
const heartbeating = (events: Event[]) =>
  new Set(ofType(events, 'agent-state').filter((e) => e.value.kind === 'state' && typeof e.value.lastHeartbeat === 'number').map((e) => e.value.agentId))

beforeAll(async () => {
  docker = await prepareDocker()
})

describe('docker: several agents in one container', { timeout: 240_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startDockerHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  const containersOf = (sessionId: string) =>
    docker.listContainers({ all: true, filters: { label: [`${LABELS.session}=${sessionId}`] } })

  it('runs three agents in one container and resumes every agent after a docker kill mid-turn', async () => {
    const id = await h.createSession({
      pattern: 'single-container',
      agent: undefined,
      agents: AGENTS.map((a) => ({ id: a, model: 'echo' })),
    })
    // Every agent's loop announces itself (its own agent-state entry) from the one container.
    await h.waitFor(
      id,
      (e) => AGENTS.every((a) => ofType(e, 'agent-state').some((s) => s.value.kind === 'state' && s.value.agentId === a)),
      'all three agents to announce themselves',
      120_000,
    )
    const before = await containersOf(id)
    expect(before).toHaveLength(1)
    expect(h.supervisor.workersOf(id)).toHaveLength(1)

    const messageIds: Record<string, string> = {}
    for (const a of AGENTS) messageIds[a] = await h.postMessage(id, `@${a} /slow /count ${WORDS}`)
    // Each agent mid-turn: some words out, not all.
    await h.waitFor(
      id,
      (e) => AGENTS.every((a) => agentAnswer(e, a, 1).split(' ').length >= 5),
      'every agent to be mid-answer',
      120_000,
    )
    const midway = await h.events(id)
    expect(AGENTS.some((a) => agentAnswer(midway, a, 1) !== count(WORDS))).toBe(true)

    await docker.getContainer(before[0]!.Id).kill({ signal: 'SIGKILL' })

    const events = await h.waitFor(
      id,
      (e) => {
        const turns = [...turnRecords(e).values()].filter((t) => t.turn === 1 && AGENTS.includes(t.agentId))
        return turns.length === AGENTS.length && turns.every((t) => t.status === 'done') && e
      },
      'every agent to finish its resumed turn',
      180_000,
    )
    for (const a of AGENTS) {
      expect(agentAnswer(events, a, 1), `agent ${a}`).toBe(count(WORDS))
      const turn = [...turnRecords(events).values()].find((t) => t.agentId === a && t.messageId === messageIds[a])
      expect(turn, `agent ${a}'s turn record`).toMatchObject({ status: 'done', turn: 1 })
    }
    // Nobody answered a message addressed to someone else.
    expect(new Set(ofType(events, 'chunk').filter((c) => c.value.role === 'assistant').map((c) => c.value.author))).toEqual(new Set(AGENTS))
    expect(duplicateImmutableEvents(events)).toEqual([])
    expect(chunkGaps(events.filter((e) => e.value?.folded === undefined))).toEqual([])

    // One container again, a new one, running; the supervisor counted one restart of its one unit.
    const after = await containersOf(id)
    expect(after).toHaveLength(1)
    expect(after[0]!.Id).not.toBe(before[0]!.Id)
    expect(after[0]!.State).toBe('running')
    expect(h.supervisor.workersOf(id)).toEqual([expect.objectContaining({ agentId: 'a', primary: true, phase: 'running', restarts: 1 })])
  })
})

describe('docker: one container per agent outside single-container', { timeout: 240_000 }, () => {
  it('names and labels each agent its container, and a restarted server adopts each as its unit', async () => {
    const first = await startWorkerHarness({ runtime: 'docker', hooks: { stopWorkersOnClose: false } })
    let second: WorkerHarness | null = null
    try {
      const id = await first.createSession({ pattern: 'hybrid', agent: undefined, agents: [{ id: 'a', model: 'echo' }, { id: 'b', model: 'echo' }] })
      await first.waitFor(id, (e) => heartbeating(e).has('a') && heartbeating(e).has('b'), 'both agents to beat', 120_000)
      const main = (await inspectOrNull(containerNameFor(id)))!
      const b = (await inspectOrNull(containerNameFor(id, 'b')))!
      expect(b.Name).toBe(`/tether-agent-${id}--b`)
      expect(b.Config.Labels[LABELS.session]).toBe(id)
      expect(b.Config.Labels[LABELS.agent]).toBe('b')
      expect(main.Config.Labels[LABELS.agent]).toBe('')
      // Each its own /work volume.
      const work = (c: Docker.ContainerInspectInfo) => c.Mounts.find((m) => m.Destination === '/work')?.Name
      expect(work(b)).toBeTruthy()
      expect(work(b)).not.toBe(work(main))
      await first.close()

      second = await startWorkerHarness({ runtime: 'docker', dataDir: first.dataDir })
      const h2 = second
      // Both leftovers restarted in place (new containers, same names and volumes), one unit each.
      await expect.poll(async () => (await inspectOrNull(containerNameFor(id, 'b')))?.Id, { timeout: 60_000 }).not.toBe(b.Id)
      await expect.poll(async () => (await inspectOrNull(containerNameFor(id)))?.Id, { timeout: 60_000 }).not.toBe(main.Id)
      expect(work((await inspectOrNull(containerNameFor(id, 'b')))!)).toBe(work(b))
      await expect
        .poll(() => h2.supervisor.workersOf(id).map((w) => `${w.agentId}:${w.phase}:${w.restarts}`), { timeout: 60_000 })
        .toEqual(['a:running:1', 'b:running:1'])
      await h2.postMessage(id, '@b after the restart')
      const events = await h2.waitFor(id, (e) => agentAnswer(e, 'b', 1) === 'Echo: after the restart' && e, "b's answer", 120_000)
      expect(agentAnswer(events, 'a', 1)).toBe('')
      expect(duplicateImmutableEvents(events)).toEqual([])
      await h2.close()
      second = null
      expect(await inspectOrNull(containerNameFor(id, 'b'))).toBeNull()
      expect(await inspectOrNull(containerNameFor(id))).toBeNull()
    } finally {
      await second?.close()
    }
  })
})

