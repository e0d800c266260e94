/**
 * Worker crash counts read from a session stream's tail, on both engines from one fixture:
 * SQLite (WorkerRestarts, synchronous) and PostgreSQL (PgWorkerRestarts, bytea rows). The newest
 * agent-state row wins (its agents' counts summed), rows older than the last TAIL_ROWS are not
 * looked at, a missing stream counts 0, and an ended session's count is kept while a live one's
 * is read again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessionStreamPath } from '../../../src/lib/common/session-contract'
import { TAIL_ROWS, WorkerRestarts } from '../../../src/lib/ops/worker-restarts'
import { PgWorkerRestarts } from '../../../src/lib/ops/worker-restarts-pg'
import { OPS_ENGINES, type OpsDb, type Row } from './ops-engines'

const T0 = Date.UTC(2026, 10, 29, 12)

const state = (agentId: string, restarts: number) => ({ type: 'agent-state', key: agentId, value: { kind: 'state', agentId, status: 'running', restarts } })
const text = (t: string) => ({ type: 'message', key: t, value: { text: t, note: '"restarts": not a state' } })
/** A stored JSON-stream row: the messages comma-joined. */
const row = (streamId: number, seq: number, messages: unknown[]): Row => ({
  stream_id: streamId,
  seq,
  end_pos: seq * 100,
  count: messages.length,
  data: Buffer.from(messages.map((m) => JSON.stringify(m)).join(',')),
})
const stream = (id: number, sessionId: string, tailSeq: number): Row => ({
  id,
  path: sessionStreamPath(sessionId),
  content_type: 'application/json',
  json_mode: 1,
  created_at: T0,
  last_access_at: T0,
  tail_seq: tailSeq,
})

interface Counter {
  of(id: string, live: boolean): number | Promise<number>
  total(sessions: Array<{ id: string; live: boolean }>): number | Promise<number>
}

describe.each(['sqlite', 'postgres'] as const)('worker restarts on %s', (engine) => {
  let db: OpsDb
  let restarts: Counter
  beforeAll(async () => {
    db = await OPS_ENGINES[engine]()
    restarts = db.engine === 'sqlite' ? new WorkerRestarts(db.sqlite.sqlite) : new PgWorkerRestarts(db.pg.sql)
    await db.insert('streams', [stream(1, 'busy', 3), stream(2, 'old', TAIL_ROWS + 10), stream(3, 'ended', 1), stream(4, 'live', 1)])
    await db.insert('messages', [
      row(1, 1, [state('a', 1)]),
      row(1, 2, [state('a', 2), state('b', 1), state('a', 3)]),
      row(1, 3, [text('after')]),
      // Beyond the tail window: never read.
      row(2, 5, [state('a', 4)]),
      row(3, 1, [state('a', 2)]),
      row(4, 1, [state('a', 1)]),
    ])
  }, 120_000)
  afterAll(async () => {
    await db?.close()
  })

  it('reads the newest agent-state row and sums its agents (last count per agent)', async () => {
    expect(await restarts.of('busy', true)).toBe(3 + 1)
  })

  it('counts 0 for a state older than the tail window and for a session without a stream', async () => {
    expect(await restarts.of('old', true)).toBe(0)
    expect(await restarts.of('nowhere', true)).toBe(0)
  })

  it("keeps an ended session's count, reads a live one's again", async () => {
    expect(await restarts.of('ended', false)).toBe(2)
    expect(await restarts.of('live', true)).toBe(1)
    await db.insert('messages', [row(3, 2, [state('a', 5)]), row(4, 2, [state('a', 6)])])
    if (db.engine === 'sqlite') db.sqlite.sqlite.prepare('UPDATE streams SET tail_seq = 2 WHERE id IN (3, 4)').run()
    else await db.pg.sql`UPDATE streams SET tail_seq = 2 WHERE id IN (3, 4)`
    expect(await restarts.of('ended', false)).toBe(2)
    expect(await restarts.of('live', true)).toBe(6)
    expect(await restarts.total([{ id: 'busy', live: true }, { id: 'ended', live: false }, { id: 'live', live: true }])).toBe(4 + 2 + 6)
  })
})
