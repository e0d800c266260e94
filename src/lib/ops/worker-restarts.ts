/**
 * Worker crashes as the database remembers them. The supervisor's crash counters live in memory
 * and die with the server; what is durable is the worker's own agent-state in its session stream:
 * a worker that starts and finds its previous state not `stopped` writes `restarts` + 1
 * (src/worker/worker.ts), and every later state (heartbeats included) carries the count. So a
 * session's crash count is the `restarts` of its newest agent-state, read from the tail of its
 * stream in SQLite (table messages, JSON rows; PostgreSQL: worker-restarts-pg.ts). With an
 * external streams server (TETHER_STREAMS_URL) the rows are not here and the count is 0.
 *
 * Bounded: only the newest TAIL_ROWS rows of each stream are looked at (heartbeats every few
 * seconds put the newest state there unless a flood of output followed it), and an ended
 * session's count never changes, so it is cached.
 */
import type Database from 'better-sqlite3'
import { sessionStreamPath } from '../common/session-contract'

export const TAIL_ROWS = 256
const CACHE_MAX = 20_000

export interface Row {
  data: Buffer | string
}

/** What a row must hold to be an agent-state with a restart count (cheap filters before parsing). */
export const STATE_MARKERS = ['"restarts":', '"agent-state"'] as const

/** The newest `restarts` per agent in one stored row (comma-joined JSON messages). */
export function restartsIn(row: Row): number {
  const text = typeof row.data === 'string' ? row.data : row.data.toString('utf8')
  let messages: unknown
  try {
    messages = JSON.parse(`[${text}]`)
  } catch {
    return 0
  }
  if (!Array.isArray(messages)) return 0
  const perAgent = new Map<string, number>()
  for (const m of messages as Array<{ type?: unknown; value?: Record<string, unknown> | null }>) {
    const v = m?.value
    if (m?.type !== 'agent-state' || !v || v.kind !== 'state' || typeof v.agentId !== 'string') continue
    if (typeof v.restarts === 'number' && Number.isSafeInteger(v.restarts) && v.restarts >= 0) perAgent.set(v.agentId, v.restarts)
  }
  let total = 0
  for (const n of perAgent.values()) total += n
  return total
}

/** Counts of ended sessions (they never change), bounded: cleared whole when full. */
export class EndedRestarts {
  private readonly ended = new Map<string, number>()

  get(sessionId: string): number | undefined {
    return this.ended.get(sessionId)
  }

  /** Keeps `n` when the session has ended; returns it. */
  keep(sessionId: string, live: boolean, n: number): number {
    if (!live) {
      if (this.ended.size >= CACHE_MAX) this.ended.clear()
      this.ended.set(sessionId, n)
    }
    return n
  }
}

export class WorkerRestarts {
  private readonly newestStateRow: Database.Statement<[string, string], Row>
  private readonly ended = new EndedRestarts()

  constructor(sqlite: Database.Database) {
    // Newest first, among the stream's last TAIL_ROWS rows: the (stream_id, seq) key bounds the scan.
    this.newestStateRow = sqlite.prepare(
      `SELECT m.data AS data FROM streams s JOIN messages m ON m.stream_id = s.id
       WHERE s.path = ? AND m.seq > s.tail_seq - ${TAIL_ROWS}
         AND instr(CAST(m.data AS TEXT), '"restarts":') > 0 AND instr(CAST(m.data AS TEXT), ?) > 0
       ORDER BY m.seq DESC LIMIT 1`,
    )
  }

  /** Restarts of one session's workers (0 when its stream or any agent-state is not found). */
  of(sessionId: string, live: boolean): number {
    const cached = this.ended.get(sessionId)
    if (cached !== undefined) return cached
    const row = this.newestStateRow.get(sessionStreamPath(sessionId), STATE_MARKERS[1])
    return this.ended.keep(sessionId, live, row ? restartsIn(row) : 0)
  }

  total(sessions: Array<{ id: string; live: boolean }>): number {
    let sum = 0
    for (const s of sessions) sum += this.of(s.id, s.live)
    return sum
  }
}
