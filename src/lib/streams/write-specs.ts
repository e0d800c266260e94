// What a write asks for (parsed from the request by request-headers.ts) and the pure rules on
// stream metadata that both the writer and the read side apply; no database, no I/O.
import type { Position } from './offsets'
import type { StreamMeta } from './stream-store'

export interface Expiry {
  ttlSeconds: number | null
  expiresAtMs: number | null
}

export interface CreateSpec extends Expiry {
  path: string
  /** Media type as sent, or null (default, or inherit for forks). */
  contentType: string | null
  closed: boolean
  body: Uint8Array
  fork: { sourcePath: string; offsetToken: string | null; offset: Position | null; subOffset: number } | null
}

export interface AppendSpec {
  path: string
  /** Request media type; null only for close-only requests. */
  contentType: string | null
  body: Uint8Array
  close: boolean
  streamSeq: string | null
  producer: { id: string; epoch: number; seq: number } | null
}

export interface WriteResult {
  status: number
  meta: StreamMeta
  /** Extra response headers (producer echoes). */
  headers: Record<string, string>
}

export function essenceOf(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase()
}

/** How stale a TTL stream's persisted deadline may get before an append rewrites it. */
export function ttlSlackMs(ttlSeconds: number): number {
  return Math.min(60_000, (ttlSeconds * 1000) / 20)
}

export function isExpired(meta: StreamMeta, now: number): boolean {
  return meta.deadlineAt !== null && meta.deadlineAt <= now
}
