/**
 * The heartbeat watch with several worker units per session (issue #15): each per-agent worker is
 * watched on its own when heartbeats name their agents, and a single-container worker is kept
 * alive by any of its agents' heartbeats.
 */
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/lib/common/logger'
import { HeartbeatWatch, heartbeatAgents, type WatchedSupervisor } from '../../../src/lib/workers/health'
import type { WorkerRuntime } from '../../../src/lib/workers/runtime'
import { buildSessionEvent, type SessionEvent } from '../../../src/lib/sessions/session-events'

type Unit = { runtime: 'process'; workerId: string; phase: string; restarts: number; agentId: string; primary: boolean }

function fixture(units: Unit[]) {
  const clock = { t: 1_000_000 }
  const killed: string[] = []
  const runtime = { kill: async (id: string) => void killed.push(id) } as unknown as WorkerRuntime
  const supervisor: WatchedSupervisor = {
    workerOf: (id) => (id === 's1' ? (units.find((u) => u.primary) ?? null) : null),
    workersOf: (id) => (id === 's1' ? units : []),
    runtime: async () => runtime,
  }
  const watch = new HeartbeatWatch({ supervisor, heartbeatMs: 1_000, misses: 3, logger: silentLogger, now: () => clock.t })
  return { clock, killed, watch }
}

const unit = (agentId: string, primary: boolean): Unit => ({ runtime: 'process', workerId: `w_${agentId}`, phase: 'running', restarts: 0, agentId, primary })

describe('HeartbeatWatch with worker units', () => {
  it("kills only the per-agent worker whose agent fell silent, even while the session's other agent beats", async () => {
    const { clock, killed, watch } = fixture([unit('a', true), unit('b', false)])
    watch.watch('s1')
    watch.beat('s1', ['a', 'b'])
    for (let i = 0; i < 5; i++) {
      clock.t += 1_000
      watch.beat('s1', ['a'])
    }
    expect(await watch.check()).toEqual(['s1@b'])
    expect(killed).toEqual(['w_b'])
  })

  it('counts a heartbeat of unnamed agents for every unit (callers that do not say which agent)', async () => {
    const { clock, killed, watch } = fixture([unit('a', true), unit('b', false)])
    watch.watch('s1')
    for (let i = 0; i < 40; i++) {
      clock.t += 1_000
      watch.beat('s1')
    }
    expect(await watch.check()).toEqual([])
    expect(killed).toEqual([])
  })

  it("keeps a single-container worker alive on any of its agents' heartbeats", async () => {
    const { clock, killed, watch } = fixture([unit('a', true)])
    watch.watch('s1')
    for (let i = 0; i < 40; i++) {
      clock.t += 1_000
      watch.beat('s1', ['c'])
    }
    expect(await watch.check()).toEqual([])
    clock.t += 3_001
    expect(await watch.check()).toEqual(['s1'])
    expect(killed).toEqual(['w_a'])
  })

  it('names the agents whose heartbeats an append carries, not roster or turn records', () => {
    const ev = (input: unknown): SessionEvent => {
      const built = buildSessionEvent(input, { now: 5 })
      if (!built.ok) throw new Error(built.message)
      return built.value
    }
    const state = (agentId: string) =>
      ev({ channel: 'agent-state', data: { agentId, status: 'idle', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0, lastHeartbeat: 5 } })
    expect(heartbeatAgents([state('a'), state('b'), state('a')]).sort()).toEqual(['a', 'b'])
    expect(heartbeatAgents([])).toEqual([])
  })
})
