/**
 * The heartbeat watch's decisions on a clock the test moves (health.test.ts runs it against a
 * real SIGSTOPped worker): when a silent worker counts as stale, that it is killed once per
 * instance, that a new instance gets the start allowance again, and that 0 misses turns it off.
 */
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/lib/common/logger'
import { HeartbeatWatch, hasHeartbeat, type WatchedSupervisor } from '../../../src/lib/workers/health'
import type { WorkerRuntime } from '../../../src/lib/workers/runtime'
import { buildSessionEvent, type SessionEvent } from '../../../src/lib/sessions/session-events'

function fixture(misses = 3) {
  const clock = { t: 1_000_000 }
  const killed: string[] = []
  const worker = { runtime: 'process' as const, workerId: 'w_1' as string | null, phase: 'running', restarts: 0 }
  const runtime = { kill: async (id: string) => void killed.push(id) } as unknown as WorkerRuntime
  const supervisor: WatchedSupervisor = {
    workerOf: (id) => (id === 's1' ? worker : null),
    runtime: async () => runtime,
  }
  const watch = new HeartbeatWatch({ supervisor, heartbeatMs: 1_000, misses, logger: silentLogger, now: () => clock.t })
  return { clock, killed, worker, watch }
}

describe('HeartbeatWatch', () => {
  it('leaves a beating worker alone and kills it once after `misses` silent intervals', async () => {
    const { clock, killed, watch } = fixture()
    watch.beat('s1')
    for (let i = 0; i < 10; i++) {
      clock.t += 1_000
      watch.beat('s1')
      expect(await watch.check()).toEqual([])
    }
    clock.t += 3_000
    expect(await watch.check()).toEqual([])
    clock.t += 1
    expect(await watch.check()).toEqual(['s1'])
    expect(killed).toEqual(['w_1'])
    // Not again for the same instance (the supervisor restarts it; a new instance starts over).
    clock.t += 60_000
    expect(await watch.check()).toEqual([])
  })

  it('gives a new instance at least 30 s to its first heartbeat, then the usual allowance', async () => {
    const { clock, killed, worker, watch } = fixture()
    watch.watch('s1')
    clock.t += 29_000
    expect(await watch.check()).toEqual([])
    worker.restarts = 1 // restarted meanwhile: seen at this check, the clock starts again for it
    clock.t += 29_000
    expect(await watch.check()).toEqual([])
    clock.t += 30_000
    expect(await watch.check()).toEqual([])
    clock.t += 1
    expect(await watch.check()).toEqual(['s1'])
    expect(killed).toEqual(['w_1'])
  })

  it('ignores workers that are not running, and is off with 0 misses', async () => {
    const { clock, killed, worker, watch } = fixture()
    watch.beat('s1')
    worker.phase = 'backoff'
    clock.t += 100_000
    expect(await watch.check()).toEqual([])
    const off = fixture(0)
    expect(off.watch.enabled).toBe(false)
    expect(killed).toEqual([])
  })

  it('finds heartbeats among raw appends (agent state records only)', () => {
    const ev = (input: unknown): SessionEvent => {
      const built = buildSessionEvent(input, { now: 5 })
      if (!built.ok) throw new Error(built.message)
      return built.value
    }
    const state = ev({ channel: 'agent-state', data: { agentId: 'agent', status: 'idle', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 } })
    const chunk = ev({ channel: 'chunk', data: { messageId: 'm', role: 'assistant', author: 'agent', turn: 1, seq: 0, delta: 'x' } })
    expect(hasHeartbeat([chunk, state])).toBe(true)
    expect(hasHeartbeat([chunk])).toBe(false)
  })
})
