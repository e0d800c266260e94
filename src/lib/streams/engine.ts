/**
 * The storage engine under the protocol handler: where stream metadata and messages live and
 * how writes commit. Two engines implement it: SQLite (sqlite-engine.ts, the embedded default,
 * whose reads answer synchronously) and PostgreSQL (pg/pg-engine.ts, for several nodes on one
 * database). The handler, SSE sessions and body builders `await` every call, so the protocol
 * logic is written once for both.
 *
 * Every write resolves only after its transaction committed (the durability promise), and
 * stages its live event in the LiveHub before resolving.
 */
import type { Position } from './offsets'
import type { StreamMeta } from './stream-store'
import type { AppendSpec, CreateSpec, WriteResult } from './write-specs'

/** A value now (SQLite) or later (PostgreSQL); callers always `await` it. */
export type MaybePromise<T> = T | Promise<T>

/**
 * Runs `then` on a value: at once when it is already there (SQLite reads, so a caller's work
 * stays in this turn), after it resolves otherwise (PostgreSQL); `failed` if it rejects.
 */
export function whenReady<T>(value: MaybePromise<T>, then: (v: T) => void, failed: (err: unknown) => void): void {
  if (value instanceof Promise) value.then(then, failed)
  else then(value)
}

export interface StreamReads {
  /** The stream's metadata (including soft-deleted and expired rows), or undefined. */
  get(path: string): MaybePromise<StreamMeta | undefined>
  getById(id: number): MaybePromise<StreamMeta | undefined>
  /** End of a bounded read from `from`: the tail if within `maxBytes`, else the last append boundary in budget. */
  readBoundary(meta: StreamMeta, from: Position, maxBytes: number): MaybePromise<Position>
  /** Stored bytes of appends afterSeq < seq <= throughSeq, one buffer per fork segment (JSON rows comma-joined). */
  readConcat(meta: StreamMeta, afterSeq: number, throughSeq: number): MaybePromise<Buffer[]>
  listLivePaths(now: number): MaybePromise<string[]>
}

export interface StreamEngine extends StreamReads {
  create(spec: CreateSpec, now: number): Promise<WriteResult>
  append(spec: AppendSpec, now: number): Promise<WriteResult>
  delete(path: string, now: number): Promise<void>
  /** Sliding-TTL renewal (reads, the last live reader leaving). */
  touch(meta: StreamMeta, now: number): Promise<void>
  /** One expiry pass: expire due streams (unless a live reader holds them) and purge deleted rows. */
  sweepExpired(now?: number): Promise<{ expired: number; purgedRows: number }>
  /**
   * Engines shared by several nodes: called before a live read (long-poll, SSE) waits, so other
   * nodes' appends to the stream wake it from then on. Undefined when that already holds; else
   * the stream's tail as of then, which the reader must have read before it waits (null: the
   * stream is gone).
   */
  watchLive?(id: number): Promise<Position | null> | undefined
  close(): Promise<void>
}
