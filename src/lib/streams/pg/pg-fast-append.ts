/**
 * Appends in one statement (issue 14: appends were round-trip bound). A node remembers what it
 * last saw of each stream it writes to: the row, and the state of the producers that wrote
 * through it. An append is planned against that guess (write-plan.ts, as always) and sent as
 * one call of `tether_append` (drizzle/pg/0001; 0005 notifies only watched streams), which locks the row and writes only if the
 * guess still holds; else it writes nothing, and the writer reads the rows under the lock and
 * plans again. So a guess is never trusted: it only saves the locked read, the BEGIN and the
 * COMMIT when nobody else wrote the stream in between. Refusals and duplicates are never
 * answered from a guess either; they take the locked read.
 */
import type { Position } from '../offsets'
import type { StreamMeta } from '../stream-store'
import { applyAppend, planAppend, type AppendPlan } from '../write-plan'
import { isExpired, type AppendSpec, type WriteResult } from '../write-specs'

export const APPEND_SQL = `SELECT tether_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) AS ok`

/**
 * A transaction handle that can send an operation's last statement without the queue waiting
 * for its answer (pg-queue.ts): the queue sends the next operation's statements, and COMMIT,
 * behind it. Alone in its batch, the statement runs as its own transaction (no BEGIN/COMMIT).
 */
export interface FinalQueryable {
  final(text: string, args: unknown[]): Promise<ReadonlyArray<Record<string, unknown>>>
}

/** The guess did not hold: the operation wrote nothing and must run again the long way. */
export class StaleGuess extends Error {
  constructor() {
    super('stale append guess')
    this.name = 'StaleGuess'
  }
}

interface ProducerState {
  epoch: number
  lastSeq: number
}

interface Guess {
  meta: StreamMeta
  producers: Map<string, ProducerState>
}

/** The channel and payload of a stream's change notice, and the writing node (pg-notices.ts). */
export type NotifyArgs = (id: number, tail: Position) => [channel: string, payload: string, node: string]

export interface FastAppend {
  args: unknown[]
  plan: Extract<AppendPlan, { kind: 'write' }>
  result: WriteResult
}

/** Streams remembered per node, and producers per stream (a bound on memory; a forgotten one costs one slow append). */
const MAX_STREAMS = 4096
const MAX_PRODUCERS = 64

export class AppendGuesses {
  private readonly streams = new Map<string, Guess>()

  /** After a commit: the stream's row as it now is, and the producer's state if the write had one. */
  remember(meta: StreamMeta, producer?: { id: string; epoch: number; lastSeq: number }): void {
    let g = this.streams.get(meta.path)
    if (g && g.meta.id === meta.id) this.streams.delete(meta.path)
    else g = { meta, producers: new Map() }
    g.meta = { ...meta }
    if (producer) {
      if (g.producers.size >= MAX_PRODUCERS && !g.producers.has(producer.id)) g.producers.clear()
      g.producers.set(producer.id, { epoch: producer.epoch, lastSeq: producer.lastSeq })
    }
    this.streams.set(meta.path, g)
    if (this.streams.size > MAX_STREAMS) this.streams.delete(this.streams.keys().next().value as string)
  }

  forget(path: string): void {
    this.streams.delete(path)
  }

  /**
   * Plans the append against the guess; null when there is none or the plan is not a plain
   * write. The guess moves on at once (optimistically), so the next append of the same batch
   * plans on top of this one; if this one turns out stale, the writer forgets the stream.
   */
  prepare(spec: AppendSpec, now: number, notify: NotifyArgs): FastAppend | null {
    const g = this.streams.get(spec.path)
    if (!g || g.meta.softDeleted || isExpired(g.meta, now)) return null
    const meta = g.meta
    const p = spec.producer
    const known = p ? g.producers.get(p.id) : undefined
    let plan: AppendPlan
    try {
      plan = planAppend(meta, known, spec, now)
    } catch {
      return null
    }
    if (plan.kind !== 'write') return null
    const notice = notify(meta.id, plan.tail)
    const { row, prev, tail } = plan
    const args = [
      meta.id,
      prev.seq,
      prev.pos,
      meta.lastStreamSeq,
      p?.id ?? null,
      known?.epoch ?? null,
      known?.lastSeq ?? null,
      now,
      row?.data ?? null,
      row?.count ?? 0,
      tail.seq,
      tail.pos,
      plan.deadline,
      spec.streamSeq,
      spec.close,
      p?.epoch ?? null,
      p?.seq ?? null,
      ...notice,
    ]
    applyAppend(meta, plan, spec, now)
    if (p) g.producers.set(p.id, { epoch: p.epoch, lastSeq: p.seq })
    return { args, plan, result: { status: plan.status, meta: { ...meta }, headers: plan.headers } }
  }
}
