/**
 * The query of `GET /api/sessions/stats/summary`: `from` and `to` (epoch ms or an ISO 8601
 * date), `bucket` (hour or day). Anything else, or a range the buckets can't cover in a bounded
 * answer, is a 400 with the reason: the answer's size must never depend on what a client asks.
 */
import { HttpError } from '../sessions/http'
import type { StatsBucket } from './stats-summary-types'

export const BUCKET_MS: Record<StatsBucket, number> = { hour: 3_600_000, day: 86_400_000 }
/** At most this many buckets in one answer: 31 days of hours, 366 days of days. */
export const MAX_BUCKETS: Record<StatsBucket, number> = { hour: 31 * 24, day: 366 }
/** Without `from`: the last day of hours or the last 30 days. */
const DEFAULT_SPAN_MS: Record<StatsBucket, number> = { hour: 86_400_000, day: 30 * 86_400_000 }
const KNOWN = new Set(['from', 'to', 'bucket'])

export interface StatsRange {
  from: number
  to: number
  bucket: StatsBucket
}

function instant(name: string, text: string): number {
  const value = /^\d{1,16}$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new HttpError(400, `${name}: expected epoch milliseconds or an ISO 8601 date, got ${JSON.stringify(text.slice(0, 40))}`, `query.${name}`)
  }
  return value
}

/** Parses and bounds the query; `now` is the default `to`. */
export function parseStatsRange(params: URLSearchParams, now: number): StatsRange {
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) throw new HttpError(400, `unknown query parameter ${JSON.stringify(key.slice(0, 40))} (known: from, to, bucket)`, `query.${key}`)
  }
  for (const key of KNOWN) {
    if (params.getAll(key).length > 1) throw new HttpError(400, `${key}: given more than once`, `query.${key}`)
  }
  const b = params.get('bucket') ?? 'day'
  if (b !== 'hour' && b !== 'day') throw new HttpError(400, `bucket: expected hour or day, got ${JSON.stringify(b.slice(0, 40))}`, 'query.bucket')
  const bucket: StatsBucket = b
  const toText = params.get('to')
  const fromText = params.get('from')
  const to = toText === null ? now : instant('to', toText)
  const from = fromText === null ? Math.max(0, to - DEFAULT_SPAN_MS[bucket]) : instant('from', fromText)
  if (from >= to) throw new HttpError(400, 'from: must be before to', 'query.from')
  const size = BUCKET_MS[bucket]
  const buckets = Math.ceil(to / size) - Math.floor(from / size)
  if (buckets > MAX_BUCKETS[bucket]) {
    throw new HttpError(
      400,
      `range too long for bucket=${bucket}: ${buckets} buckets, at most ${MAX_BUCKETS[bucket]} (use bucket=day or a shorter range)`,
      'query.from',
    )
  }
  return { from, to, bucket }
}
