/**
 * A SIGKILLed agent program is reported as out of memory only when the worker's cgroup counted a
 * new OOM kill, with the limit it hit, read from cgroup v1 or v2 files as the kernel writes them.
 */
import { describe, expect, it } from 'vitest'
import { memoryKillNote, memoryLimitIn, oomKillsIn } from '../../../src/worker/adapters/memory-kill'

describe('memory kill notes', () => {
  it('reads the OOM kill count from cgroup v2 memory.events and v1 memory.oom_control', () => {
    expect(oomKillsIn('low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n')).toBe(2)
    expect(oomKillsIn('oom_kill_disable 0\nunder_oom 0\noom_kill 1\n')).toBe(1)
    // Kernels before 4.13 have no counter: no claim of an OOM kill.
    expect(oomKillsIn('oom_kill_disable 0\nunder_oom 0\n')).toBe(0)
  })

  it('reads the limit, and treats `max` and the v1 no-limit value as unlimited', () => {
    expect(memoryLimitIn('1610612736\n')).toBe(1536 * 1024 * 1024)
    expect(memoryLimitIn('max\n')).toBeNull()
    expect(memoryLimitIn('9223372036854771712\n')).toBeNull()
  })

  it('says nothing for other signals, or a SIGKILL with no new OOM kill', () => {
    expect(memoryKillNote('SIGTERM', 0)).toBe('')
    expect(memoryKillNote(null, 0)).toBe('')
    // Whatever this machine's cgroup counted so far, no kill is newer than "infinitely many".
    expect(memoryKillNote('SIGKILL', Number.POSITIVE_INFINITY)).toBe('')
  })
})
