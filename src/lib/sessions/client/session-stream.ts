/**
 * The DurableStream handle a session's StreamDB reads through. createStreamDB always reads from
 * the start with the handle's own settings, so this subclass is where our read policy goes:
 * - every request goes through the resilient fetch (reconnect with backoff, batch-atomic SSE);
 * - live mode is SSE, and the client's fall-back to long-poll is kept for proxies that buffer;
 * - with a cached snapshot, the first read (offset -1) is answered locally from it, so the
 *   network read starts at the snapshot's offset: a reload resumes where the page was;
 * - a snapshot that is the server's view (current when it was asked) is answered as up to date:
 *   StreamDB commits its rows at once, so the page shows them without waiting for the live read's
 *   round trip, and the client then opens the live SSE read straight from the view's offset (the
 *   catch-up from there arrives as ordinary live batches).
 */
import { DurableStream, stream as readStream } from '@durable-streams/client'
import type { StreamOptions, StreamResponse } from '@durable-streams/client'
import type { StreamSnapshot } from './snapshot'

export interface SessionStreamOptions {
  url: string
  token?: string
  fetch: typeof fetch
  /** answered locally for the first read, if present */
  snapshot?: StreamSnapshot
  /** the snapshot is current (the server's view just asked for): answer it as up to date */
  snapshotIsCurrent?: boolean
}

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {}
}

/**
 * A JSON-mode catch-up answer built from a snapshot: its events, ending at its offset. Not up to
 * date (the client then reads the rest as catch-up) unless `current`: then the client goes live
 * (SSE) from the offset at once, and StreamDB commits the snapshot's rows without waiting for it.
 */
export function snapshotResponse(snapshot: StreamSnapshot, current = false): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'Stream-Next-Offset': snapshot.offset }
  if (current) headers['Stream-Up-To-Date'] = 'true'
  return new Response(JSON.stringify(snapshot.events), { status: 200, headers })
}

export class SessionStream extends DurableStream {
  private readonly readFetch: typeof fetch
  private readonly token: string | undefined
  private snapshot: StreamSnapshot | undefined

  constructor(options: SessionStreamOptions) {
    super({
      url: options.url,
      headers: authHeaders(options.token),
      fetch: options.fetch,
      contentType: 'application/json',
      warnOnHttp: false,
    })
    this.token = options.token
    this.snapshot = options.snapshot
    const current = options.snapshotIsCurrent === true
    const network = options.fetch
    this.readFetch = (input, init) => {
      const snapshot = this.snapshot
      if (snapshot) {
        const url = new URL(input instanceof Request ? input.url : String(input))
        if (url.searchParams.get('offset') === '-1') {
          this.snapshot = undefined // only the very first read is served locally
          return Promise.resolve(snapshotResponse(snapshot, current))
        }
      }
      return network(input, init)
    }
  }

  /** Where the network read starts: the snapshot's offset, or the beginning. */
  get resumedFrom(): string {
    return this.snapshot?.offset ?? '-1'
  }

  override stream<TJson = unknown>(options?: Omit<StreamOptions, 'url'>): Promise<StreamResponse<TJson>> {
    return readStream<TJson>({
      url: this.url,
      headers: { ...authHeaders(this.token), ...options?.headers },
      signal: options?.signal,
      fetch: this.readFetch,
      // The resilient fetch retries network failures itself; whatever reaches the client's own
      // backoff is a refusal (4xx) that retrying cannot fix.
      backoffOptions: { initialDelay: 100, maxDelay: 1000, multiplier: 2, maxRetries: 0 },
      offset: options?.offset ?? '-1',
      live: 'sse',
      json: true,
      warnOnHttp: false,
      // Our server streams SSE unbuffered; a connection that ends early is a server restart, not
      // a buffering proxy, so allow many short connections before falling back to long-poll.
      sseResilience: {
        minConnectionDuration: 1000,
        maxShortConnections: 20,
        backoffBaseDelay: 100,
        backoffMaxDelay: 2000,
        logWarnings: false,
      },
    })
  }
}
