/**
 * Why an agent program died of SIGKILL, when the kernel's OOM killer did it: the worker's
 * cgroup counts OOM kills (cgroup v2 `memory.events`, v1 `memory.oom_control`) and knows its
 * limit. A turn's error then says "out of memory (limit 512 MiB)" instead of a bare SIGKILL, which
 * is what an operator needs to raise TETHER_WORKER_MEMORY_MB (or the adapter's allowance).
 */
import { readFileSync } from 'node:fs'

const CGROUP = '/sys/fs/cgroup'
const SOURCES = [
  { events: `${CGROUP}/memory.events`, limit: `${CGROUP}/memory.max` },
  { events: `${CGROUP}/memory/memory.oom_control`, limit: `${CGROUP}/memory/memory.limit_in_bytes` },
]
/** v1 reports "no limit" as a huge page-aligned number, v2 as `max`. */
const NO_LIMIT = 2 ** 60

/** The `oom_kill N` count from memory.events / memory.oom_control text (0 when absent). */
export function oomKillsIn(text: string): number {
  const m = /^oom_kill (\d+)$/m.exec(text)
  return m ? Number(m[1]) : 0
}

/** The memory limit in bytes from memory.max / memory.limit_in_bytes text; null when unlimited. */
export function memoryLimitIn(text: string): number | null {
  const n = Number(text.trim())
  return Number.isFinite(n) && n > 0 && n < NO_LIMIT ? n : null
}

const read = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** The worker cgroup's OOM kills so far and its limit; null where no cgroup memory files are readable. */
export function cgroupMemory(): { oomKills: number; limitBytes: number | null } | null {
  for (const source of SOURCES) {
    const events = read(source.events)
    if (events === null) continue
    const limit = read(source.limit)
    return { oomKills: oomKillsIn(events), limitBytes: limit === null ? null : memoryLimitIn(limit) }
  }
  return null
}

/**
 * A note for a program that died of `signal`: empty unless it was SIGKILL and the cgroup's OOM
 * kill count grew past `oomKillsBefore` (read when the program started).
 */
export function memoryKillNote(signal: NodeJS.Signals | null, oomKillsBefore: number): string {
  if (signal !== 'SIGKILL') return ''
  const now = cgroupMemory()
  if (!now || now.oomKills <= oomKillsBefore) return ''
  const limit = now.limitBytes === null ? '' : ` of ${Math.round(now.limitBytes / 1024 / 1024)} MiB`
  return `: out of memory (the kernel killed it at the worker's limit${limit}; raise TETHER_WORKER_MEMORY_MB)`
}
