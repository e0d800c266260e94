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

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** RFC 3339 timestamp to epoch ms, or null. */
export function parseRfc3339(raw: string): number | null {
  if (!RFC3339.test(raw)) return null
  const ms = Date.parse(raw)
  return Number.isFinite(ms) ? ms : null
}

/** `type/subtype` lower-cased, parameters dropped; null when not a media type. */
export function mediaTypeEssence(raw: string | null): string | null {
  if (!raw) return null
  const essence = trimOws(raw.split(';')[0]!).toLowerCase()
  return /^[\w.+-]+\/[\w.+-]+$/.test(essence) ? essence : null
}

/**
 * Optional whitespace around a header value (RFC 9110 §5.5): SP and HTAB only. Never
 * String.prototype.trim, which also strips U+00A0 and other Unicode spaces: a value one reader
 * trims and another does not would mean two different things (issue #8: `true\u00a0` passed the
 * gate as "not closing" and then closed the stream).
 */
export function trimOws(raw: string): string {
  let start = 0
  let end = raw.length
  while (start < end && (raw.charCodeAt(start) === 0x20 || raw.charCodeAt(start) === 0x09)) start++
  while (end > start && (raw.charCodeAt(end - 1) === 0x20 || raw.charCodeAt(end - 1) === 0x09)) end--
  return raw.slice(start, end)
}

/**
 * Stream-Closed, the one parser every reader of it uses (the handler and the session gate in
 * front of it): absent → false; `true` / `false` (any case, SP/HTAB around) → true / false;
 * anything else → null, which callers answer with 400 (INVALID_STREAM_CLOSED) rather than guess.
 */
export function parseClosedHeader(raw: string | null): boolean | null {
  if (raw === null) return false
  const v = trimOws(raw).toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  return null
}
