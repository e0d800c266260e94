/**
 * Worker crash counts (worker-restarts.ts) read from PostgreSQL's stream tables: the same query
 * over `streams` and `messages`, with `data` as bytea, so the filters are byte searches
 * (position() on bytea: no UTF-8 decode of rows that do not match). Asynchronous, like every
 * PostgreSQL read; the ended-session cache and the row parsing are shared with SQLite's.
 */
import type { Sql } from 'postgres'
import { sessionStreamPath } from '../common/session-contract'
import { EndedRestarts, restartsIn, STATE_MARKERS, TAIL_ROWS } from './worker-restarts'

const RESTARTS = Buffer.from(STATE_MARKERS[0])
const AGENT_STATE = Buffer.from(STATE_MARKERS[1])

export class PgWorkerRestarts {
  private readonly ended = new EndedRestarts()

  constructor(private readonly sql: Sql) {}

  /** Restarts of one session's workers (0 when its stream or any agent-state is not found). */
  async of(sessionId: string, live: boolean): Promise<number> {
    const cached = this.ended.get(sessionId)
    if (cached !== undefined) return cached
    // Newest first, among the stream's last TAIL_ROWS rows: the (stream_id, seq) key bounds the scan.
    const [row] = await this.sql<{ data: Buffer }[]>`
      SELECT m.data FROM streams s JOIN messages m ON m.stream_id = s.id
      WHERE s.path = ${sessionStreamPath(sessionId)} AND m.seq > s.tail_seq - ${TAIL_ROWS}
        AND position(${RESTARTS}::bytea IN m.data) > 0 AND position(${AGENT_STATE}::bytea IN m.data) > 0
      ORDER BY m.seq DESC LIMIT 1`
    return this.ended.keep(sessionId, live, row ? restartsIn(row) : 0)
  }

  /** One query per session not cached, a few at a time (the pool is shared with requests). */
  async total(sessions: Array<{ id: string; live: boolean }>): Promise<number> {
    let sum = 0
    for (let i = 0; i < sessions.length; i += 8) {
      const counts = await Promise.all(sessions.slice(i, i + 8).map((s) => this.of(s.id, s.live)))
      for (const n of counts) sum += n
    }
    return sum
  }
}
