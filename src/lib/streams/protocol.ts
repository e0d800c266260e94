/** Header names, shared response headers and small pure validators of request headers. */

export const H = {
  nextOffset: 'Stream-Next-Offset',
  cursor: 'Stream-Cursor',
  upToDate: 'Stream-Up-To-Date',
  closed: 'Stream-Closed',
  ttl: 'Stream-TTL',
  expiresAt: 'Stream-Expires-At',
  seq: 'Stream-Seq',
  forkedFrom: 'Stream-Forked-From',
  forkOffset: 'Stream-Fork-Offset',
  forkSubOffset: 'Stream-Fork-Sub-Offset',
  producerId: 'Producer-Id',
  producerEpoch: 'Producer-Epoch',
  producerSeq: 'Producer-Seq',
  producerExpectedSeq: 'Producer-Expected-Seq',
  producerReceivedSeq: 'Producer-Received-Seq',
  sseEncoding: 'Stream-SSE-Data-Encoding',
} as const

/** CORS and browser security headers on every response (PROTOCOL §12.7). */
export const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'access-control-allow-origin': '*',
  'access-control-expose-headers':
    'Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, Stream-Closed, Stream-TTL, Stream-Expires-At, Stream-SSE-Data-Encoding, Producer-Epoch, Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq, ETag, Content-Type, Location',
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'cross-origin',
})

/** Extra headers for CORS preflight (OPTIONS) answers only. */
export const PREFLIGHT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, HEAD, OPTIONS',
  'access-control-allow-headers':
    'content-type, authorization, if-none-match, last-event-id, Stream-Seq, Stream-TTL, Stream-Expires-At, Stream-Closed, Producer-Id, Producer-Epoch, Producer-Seq, Stream-Forked-From, Stream-Fork-Offset, Stream-Fork-Sub-Offset',
  'access-control-max-age': '86400',
})

const NON_NEGATIVE_INT = /^(0|[1-9]\d*)$/

/** Stream-TTL / Stream-Fork-Sub-Offset: decimal, no sign, no leading zeros. */
export function parseStrictInt(raw: string): number | null {
  if (!NON_NEGATIVE_INT.test(raw)) return null
  const n = Number(raw)
  return Number.isSafeInteger(n) ? n : null
}

/** Producer-Epoch / Producer-Seq: digits only, at most 2^53-1. */
export function parseProducerInt(raw: string): number | null {
  if (!/^\d+$/.test(raw)) return null
  const n = Number(raw)
  return Number.isSafeInteger(n) ? n : null
}

const RFC3339 =
  /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** RFC 3339 timestamp to epoch ms, or null. */
export function parseRfc3339(raw: string): number | null {
  if (!RFC3339.test(raw)) return null
  const ms = Date.parse(raw)
  return Number.isFinite(ms) ? ms : null
}

/** `type/subtype` lower-cased, parameters dropped; null when not a media type. */
export function mediaTypeEssence(raw: string | null): string | null {
  if (!raw) return null
  const essence = raw.split(';')[0]!.trim().toLowerCase()
  return /^[\w.+-]+\/[\w.+-]+$/.test(essence) ? essence : null
}

/** Stream-Closed counts only when exactly `true` (case-insensitive). */
export function isClosedHeader(raw: string | null): boolean {
  return raw !== null && raw.trim().toLowerCase() === 'true'
}
