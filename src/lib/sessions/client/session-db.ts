/**
 * One StreamDB per open session: a TanStack DB collection per channel (chunks, toolCalls,
 * terminal, presence, agentState), fed live over SSE from `/api/streams/sessions/<id>`, with
 * - a visible connection status (live / reconnecting with next retry time / offline),
 * - the offset this client last applied, and a way to wait until a write's offset is applied
 *   (how optimistic writes are confirmed),
 * - a snapshot persisted after each batch so a reload resumes at that offset.
 * Connections are shared and reference-counted: every component of a page that shows a session
 * uses the same one (acquireSessionConnection / release).
 */
import { createStreamDB, type StreamDB } from '@durable-streams/state/db'
import { STREAMS_MOUNT, sessionStreamUrl as streamUrlUnder } from '../../common/session-contract'
import { clientStateSchema, type ClientStateSchema } from './state-schema'
import { ConnectionStatusStore } from './connection-status'
import { isAtOrAfter } from './offsets'
import { createResilientFetch } from './resilient-fetch'
import { SnapshotBuilder } from './snapshot'
import { deleteSnapshot, loadSnapshot, saveSnapshot, warmSnapshotCache } from './snapshot-cache'
import { SessionStream } from './session-stream'
import { fetchSessionView, takePrefetchedView, ViewHistory, type ViewAnswer } from './session-view'

export type SessionDB = StreamDB<ClientStateSchema>

export interface SessionConnection {
  readonly sessionId: string
  readonly token: string | undefined
  readonly streamUrl: string
  readonly db: SessionDB
  readonly status: ConnectionStatusStore
  /** where the network read started: the view's or a cached snapshot's offset, or "-1" */
  readonly resumedFrom: string
  /** older messages and earlier terminal output than the view the page opened from, on request */
  readonly history: ViewHistory
  /**
   * resolves once the collections hold a consistent state: the view's (opened from a view), else
   * the stream read up to its tail (rejects if the read is refused). `status.caughtUp` tells when
   * the live read reached the tail.
   */
  readonly ready: Promise<void>
  appliedOffset(): string
  /** resolves when this client has applied the stream up to `offset` */
  waitForOffset(offset: string, signal?: AbortSignal): Promise<void>
  close(): void
}

export interface OpenSessionOptions {
  sessionId: string
  token?: string
  /** page origin; defaults to location.origin */
  origin?: string
  /** keep and use the IndexedDB snapshot (default true) */
  cache?: boolean
  /** open from the server's view of the newest part (GET …/view; default true) */
  view?: boolean
}

export function sessionStreamUrl(sessionId: string, origin: string): string {
  return new URL(streamUrlUnder(STREAMS_MOUNT, sessionId), origin).toString()
}

/**
 * The snapshot is the whole session (every chunk), and IndexedDB copies it on the main thread:
 * tens of milliseconds per thousand messages. Saving it once a second froze a long session's page
 * during a token stream (the session-page bench), so it is saved at most every 10 s, when the
 * page is idle, and always on pagehide and close (what a reload needs).
 */
const SAVE_EVERY_MS = 10_000

function whenIdle(run: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 5000 })
  else run()
}

/** Timeline marks for the session-page bench (performance.mark is cheap and a no-op without a reader). */
function mark(name: string): void {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function') performance.mark(`tether:${name}`)
}

export async function openSessionConnection(options: OpenSessionOptions): Promise<SessionConnection> {
  mark('open')
  const origin = options.origin ?? globalThis.location.origin
  const streamUrl = sessionStreamUrl(options.sessionId, origin)
  const useCache = options.cache !== false
  // The view is the newest part, current to the moment it was asked for: the stream is then read
  // from its offset. Without it (an older server, a failed request) the cached snapshot or the
  // whole stream, as before.
  const fetchView = (query: Record<string, string>) => fetchSessionView(options.sessionId, options.token, origin, query)
  let head: ViewAnswer | undefined
  if (options.view !== false) {
    head = await takePrefetchedView(options.sessionId)
    head ??= await fetchView({}).catch(() => undefined)
  }
  mark('view-loaded')
  if (head && useCache) warmSnapshotCache()
  const snapshot = head ? { offset: head.offset, events: head.events } : useCache ? await loadSnapshot(streamUrl) : undefined
  mark('snapshot-loaded')
  // A snapshot saved by a page that opened from a view holds that view's cursors: a page that
  // opens from it (its own view request failed) can still fetch what is older.
  const cursors = head ?? snapshot?.history ?? { olderBefore: null, terminalBefore: null }
  const history = new ViewHistory(fetchView, cursors)

  const status = new ConnectionStatusStore()
  // A view is current: its rows are committed (shown) at once, before the live read answers.
  const stream = new SessionStream({ url: streamUrl, token: options.token, fetch: createResilientFetch({ status }), snapshot, snapshotIsCurrent: !!head })
  const resumedFrom = stream.resumedFrom
  const builder = new SnapshotBuilder()

  let applied = '-1'
  const waiters = new Set<{ target: string; resolve: () => void }>()
  let saveTimer: ReturnType<typeof setTimeout> | undefined
  let closed = false

  const persist = () => {
    saveTimer = undefined
    if (useCache && !closed && builder.offset !== '-1')
      void saveSnapshot(streamUrl, {
        ...builder.toSnapshot(),
        history: { olderBefore: cursors.olderBefore, terminalBefore: cursors.terminalBefore },
      })
  }

  const db = createStreamDB({
    stream,
    state: clientStateSchema,
    live: 'sse',
    onBatch: (batch) => {
      // The first batch of a page opened from a view (or snapshot) is that local answer: even
      // when answered as up to date it is not the server's word that the page reached the tail.
      const local = applied === '-1' && snapshot !== undefined
      if (applied === '-1') mark('first-batch')
      const reachedTail = batch.upToDate && !local
      if (reachedTail && !status.getSnapshot().caughtUp) mark('up-to-date')
      applied = batch.offset
      builder.apply(batch.items, batch.offset)
      status.markApplied(batch.offset, reachedTail)
      for (const waiter of [...waiters]) {
        if (isAtOrAfter(applied, waiter.target)) {
          waiters.delete(waiter)
          waiter.resolve()
        }
      }
      if (useCache && saveTimer === undefined) saveTimer = setTimeout(() => whenIdle(persist), SAVE_EVERY_MS)
    },
  })

  const onPageHide = () => {
    if (saveTimer !== undefined) clearTimeout(saveTimer)
    persist()
  }
  const onOffline = () => status.dropLive('no network')
  const onOnline = () => status.retryNow()
  if (typeof window !== 'undefined') {
    window.addEventListener('pagehide', onPageHide)
    window.addEventListener('offline', onOffline)
    window.addEventListener('online', onOnline)
  }

  const ready = db
    .preload()
    .then(() => mark('committed'))
    .catch(async (err: unknown) => {
      // A refused read after a cached start may mean the cache is from another server's data.
      if (resumedFrom !== '-1') await deleteSnapshot(streamUrl)
      if (status.getSnapshot().state !== 'offline') status.markFatal(err instanceof Error ? err.message : String(err))
      throw err
    })
  ready.catch(() => undefined)

  return {
    sessionId: options.sessionId,
    token: options.token,
    streamUrl,
    db,
    status,
    resumedFrom,
    history,
    ready,
    appliedOffset: () => applied,
    waitForOffset(target, signal) {
      if (isAtOrAfter(applied, target)) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const waiter = { target, resolve }
        waiters.add(waiter)
        signal?.addEventListener(
          'abort',
          () => {
            waiters.delete(waiter)
            reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
          },
          { once: true },
        )
      })
    },
    close() {
      if (closed) return
      if (saveTimer !== undefined) clearTimeout(saveTimer)
      persist()
      closed = true
      if (typeof window !== 'undefined') {
        window.removeEventListener('pagehide', onPageHide)
        window.removeEventListener('offline', onOffline)
        window.removeEventListener('online', onOnline)
      }
      db.close()
    },
  }
}

// ------------------------------------------------------------------------------------------
// Shared, reference-counted connections (one per session and token per page)
// ------------------------------------------------------------------------------------------
interface Entry {
  promise: Promise<SessionConnection>
  refs: number
  closeTimer?: ReturnType<typeof setTimeout>
}
const open = new Map<string, Entry>()

/**
 * Starts opening a connection the page is about to acquire (the session page calls it while it
 * hydrates, when its token is already known), so the view is applied while React hydrates instead
 * of after the page's effects have run. Kept `graceMs` for the page's own acquire to pick up;
 * closed if nobody does.
 */
export function preopenSessionConnection(options: OpenSessionOptions, graceMs = 15_000): Promise<SessionConnection> {
  const { connection, release } = acquireSessionConnection(options)
  release(graceMs)
  return connection
}

/** Gets (or opens) the page's connection to a session. Call the returned release when done. */
export function acquireSessionConnection(options: OpenSessionOptions): {
  connection: Promise<SessionConnection>
  release: (graceMs?: number) => void
} {
  const id = `${options.sessionId}\u0000${options.token ?? ''}`
  let entry = open.get(id)
  if (!entry) {
    entry = { promise: openSessionConnection(options), refs: 0 }
    open.set(id, entry)
  }
  const held = entry
  if (held.closeTimer !== undefined) {
    clearTimeout(held.closeTimer)
    held.closeTimer = undefined
  }
  held.refs += 1
  let released = false
  return {
    connection: held.promise,
    release(graceMs = 2000) {
      if (released) return
      released = true
      held.refs -= 1
      if (held.refs > 0) return
      // Closing late lets a quick re-mount (React strict mode, a route change back) reuse it.
      held.closeTimer = setTimeout(() => {
        if (held.refs > 0) return
        open.delete(id)
        void held.promise.then((c) => c.close()).catch(() => undefined)
      }, graceMs)
    },
  }
}
