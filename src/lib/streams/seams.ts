/**
 * Seams between the streams protocol core and the modules that hang off it (subscriptions,
 * the session layer's auth wrapper). Kept in one small file so each side can be built and
 * tested on its own.
 *
 * Paths here are stream-root-relative: `events/abc`, `sessions/s1` (no leading slash, no
 * mount prefix such as `/v1/stream/` or `/api/streams/`).
 */

/** A live stream as a subscription sees it: where its tail is, whether it is closed, its type. */
export interface StreamDescription {
  tailOffset: string
  closed: boolean
  contentType: string
}

/**
 * A synchronous view of the streams: SQLite's store itself, or on PostgreSQL the rows a
 * subscription operation read inside its transaction (subscriptions/host.ts).
 */
export interface StreamSnapshot {
  /** Current tail offset and state of a live (not expired, not deleted) stream, or null. */
  describe(path: string): StreamDescription | null
  /** Paths of all live streams (for glob matching). */
  listPaths(): string[]
}

/** What a subscription engine (or any other observer) may ask of the stream store. */
export interface StreamAccess {
  /** As StreamSnapshot.describe; asynchronous on PostgreSQL. */
  describe(path: string): StreamDescription | null | Promise<StreamDescription | null>
  listPaths(): string[] | Promise<string[]>
  /** Append bytes to an existing stream as a plain (non-producer) append; resolves after commit. */
  append(path: string, body: Uint8Array, contentType: string): Promise<{ tailOffset: string }>
}

/** SQLite's access: every read answers at once, so it is its own snapshot. */
export type SyncStreamAccess = StreamSnapshot & StreamAccess

/** Events the store emits after each commit. Listeners must not throw and must not block. */
export interface StreamLifecycleListener {
  /**
   * `startOffset` (optional, backward-compatible) is the stream's tail BEFORE any data of its
   * own, i.e. where a reader at `-1` starts (the zero offset for a fresh stream, the fork
   * offset for a fork). Subscriptions link new streams there, so an empty new stream is not
   * "pending" while one created with a body is. Without it they fall back to `-1`, which
   * costs one spurious wake per new empty stream. A create that carries a body may also fire
   * onAppended; listeners treat that as harmless.
   */
  onCreated?(path: string, startOffset?: string): void
  /** `bytes`: what this append stored (the JSON text of a JSON append). */
  onAppended?(path: string, tailOffset: string, bytes?: number): void
  onClosed?(path: string): void
  onDeleted?(path: string): void
}

/** A listener may also hear of each group commit (write-queue.ts): how many write operations it held (metrics). */
export interface StreamCommitObserver {
  onBatchCommitted?(ops: number): void
}

/**
 * A sub-router for the reserved `__ds/...` control namespace. `subPath` is what follows
 * `__ds/` (e.g. `subscriptions/abc/callback`). `streamUrl(path)` builds the absolute URL of
 * a stream (or `__ds/...` control path) as the client addressed it, so responses can carry
 * callback URLs that work behind any mount point.
 */
export interface ReservedRouter {
  handle(req: Request, subPath: string, streamUrl: (path: string) => string): Promise<Response>
  close(): void
}
