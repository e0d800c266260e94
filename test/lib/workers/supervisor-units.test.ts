/**
 * Worker units (issue #15) as data: which workers a session needs, what a running one may keep
 * serving, and how a per-agent container's name maps back to its session and agent.
 */
import { describe, expect, it } from 'vitest'
import { normaliseAgent, normaliseRouting } from '../../../src/lib/sessions/session-agents'
import type { SessionPattern, SessionRecord } from '../../../src/lib/sessions/session-types'
import { containerNameFor, unitFromName, sessionFromName } from '../../../src/lib/workers/runtimes/docker-container-spec'
import { defaultNeedsWorker, unitStillServes, unitsOf } from '../../../src/lib/workers/supervisor-units'
import type { AgentAdapterName } from '../../../src/lib/common/session-contract'

function session(pattern: SessionPattern, ids: string[], defaultAgent?: string, adapters: Record<string, AgentAdapterName> = {}): SessionRecord {
  const agents = ids.map((id) => normaliseAgent({ id, model: 'echo', ...(adapters[id] ? { adapter: adapters[id] } : {}) }))
  return {
    id: 's_AAAAAAAAAAAAAA',
    pattern,
    agents,
    routing: normaliseRouting(agents, defaultAgent ? { defaultAgent } : undefined),
    agent: { model: 'echo' },
    metadata: {},
  } as unknown as SessionRecord
}

describe('worker units', () => {
  it('gives a single-container session one unit with the default agent, other patterns one per agent', () => {
    expect(unitsOf(session('single-container', ['a', 'b', 'c'], 'b'))).toEqual([
      { key: 's_AAAAAAAAAAAAAA', sessionId: 's_AAAAAAAAAAAAAA', agentId: 'b', primary: true, extraMemoryBytes: 0 },
    ])
    expect(unitsOf(session('hybrid', ['a', 'b', 'c'], 'b')).map((u) => [u.key, u.agentId, u.primary])).toEqual([
      ['s_AAAAAAAAAAAAAA', 'b', true],
      ['s_AAAAAAAAAAAAAA@a', 'a', false],
      ['s_AAAAAAAAAAAAAA@c', 'c', false],
    ])
  })

  it("keeps a single-agent session's one unit as before (key = session id, agent `agent`)", () => {
    expect(unitsOf(session('long-running', ['agent']))).toEqual([
      { key: 's_AAAAAAAAAAAAAA', sessionId: 's_AAAAAAAAAAAAAA', agentId: 'agent', primary: true, extraMemoryBytes: 0 },
    ])
    expect(defaultNeedsWorker(session('long-running', ['agent']))).toBe(true)
    expect(defaultNeedsWorker(session('long-running', []))).toBe(false)
  })

  it('gives each worker memory for the agent programs it hosts: all of them in one container, its own per agent', () => {
    const MiB = 1024 * 1024
    const adapters = { a: 'opencode', b: 'claude-agent-sdk' } as const
    expect(unitsOf(session('single-container', ['a', 'b', 'c'], 'c', adapters)).map((u) => u.extraMemoryBytes)).toEqual([1536 * MiB])
    expect(unitsOf(session('hybrid', ['a', 'b', 'c'], 'c', adapters)).map((u) => [u.agentId, u.extraMemoryBytes])).toEqual([
      ['c', 0],
      ['a', 1024 * MiB],
      ['b', 512 * MiB],
    ])
    expect(unitsOf(session('long-running', ['a'], undefined, adapters))[0]!.extraMemoryBytes).toBe(1024 * MiB)
  })

  it('restarts a unit whose agent changed, except a single-container worker whose agent is still listed', () => {
    const hybrid = session('hybrid', ['a', 'b'], 'b')
    const [main] = unitsOf(hybrid)
    expect(unitStillServes('b', main!, hybrid)).toBe(true)
    expect(unitStillServes('a', main!, hybrid)).toBe(false)
    const single = session('single-container', ['a', 'b'], 'b')
    expect(unitStillServes('a', unitsOf(single)[0]!, single)).toBe(true)
    expect(unitStillServes('gone', unitsOf(single)[0]!, single)).toBe(false)
  })

  it("names per-agent containers `…--<agent>` and reads session and agent back, even with `--` inside the session id", () => {
    expect(containerNameFor('s_AAAAAAAAAAAAAA')).toBe('tether-agent-s_AAAAAAAAAAAAAA')
    expect(containerNameFor('s_AAAAAAAAAAAAAA', 'b')).toBe('tether-agent-s_AAAAAAAAAAAAAA--b')
    expect(unitFromName('/tether-agent-s_AAAAAAAAAAAAAA--b')).toEqual({ sessionId: 's_AAAAAAAAAAAAAA', agentId: 'b' })
    expect(unitFromName('tether-agent-s_zKBTPqX1--CEwQ')).toEqual({ sessionId: 's_zKBTPqX1--CEwQ', agentId: null })
    expect(unitFromName('tether-agent-s_zKBTPqX1--CEwQ--a--b')).toEqual({ sessionId: 's_zKBTPqX1--CEwQ', agentId: 'a--b' })
    expect(unitFromName('tether-agent-s_AAAAAAAAAAAAA---x')).toEqual({ sessionId: 's_AAAAAAAAAAAAA-', agentId: 'x' })
    expect(sessionFromName('tether-warm-abc')).toBeNull()
    expect(sessionFromName('tether-agent-other')).toBe('other')
  })
})
