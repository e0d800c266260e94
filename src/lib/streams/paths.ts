/**
 * Mapping request paths to stream-root-relative paths (`events/abc`). Stream paths are DB keys,
 * never file names, but traversal-looking input is still refused so that every client sees one
 * canonical name per stream: no `.`/`..` or empty segments (also when percent-encoded), no
 * control characters (NUL, CR, LF...), no backslashes, bounded length.
 */

import { trimOws } from './protocol'

export const MAX_STREAM_PATH_LENGTH = 1024
export const RESERVED_SEGMENT = '__ds'

export type RouteTarget =
  | { kind: 'stream'; path: string }
  | { kind: 'reserved'; subPath: string }
  | { kind: 'invalid'; reason: string }
  | { kind: 'outside' }

/** Normalises a mount prefix: leading slash, no trailing slash ('' for the root). */
export function normaliseBasePath(basePath: string): string {
  const trimmed = basePath.replace(/\/+$/, '')
  if (trimmed === '') return ''
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`
}

// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f\\]/

/** Validates and decodes a stream-root-relative path (percent-encoded as in a URL). */
export function decodeStreamPath(raw: string): { ok: true; path: string } | { ok: false; reason: string } {
  if (raw.length === 0) return { ok: false, reason: 'Stream path is empty' }
  if (raw.length > MAX_STREAM_PATH_LENGTH * 3) return { ok: false, reason: 'Stream path is too long' }
  const out: string[] = []
  for (const segment of raw.split('/')) {
    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      return { ok: false, reason: 'Stream path has malformed percent-encoding' }
    }
    if (decoded === '') return { ok: false, reason: 'Stream path has an empty segment' }
    if (decoded === '.' || decoded === '..') return { ok: false, reason: 'Stream path may not contain . or .. segments' }
    if (decoded.includes('/')) return { ok: false, reason: 'Stream path segments may not contain an encoded /' }
    if (FORBIDDEN_CHARS.test(decoded)) return { ok: false, reason: 'Stream path contains a control character or backslash' }
    out.push(decoded)
  }
  const path = out.join('/')
  if (path.length > MAX_STREAM_PATH_LENGTH) return { ok: false, reason: 'Stream path is too long' }
  return { ok: true, path }
}

/**
 * The request-target path without dot-segment resolution (WHATWG URL parsing resolves them, so
 * `new URL(req.url).pathname` never shows a `..` for routeRequestPath to refuse). Pass the raw
 * target (`nodeRequestOf(req)?.url`) when there is one.
 */
export function rawPathname(url: string): string {
  const scheme = url.startsWith('/') ? -1 : url.indexOf('://')
  const pathStart = scheme < 0 ? 0 : url.indexOf('/', scheme + 3)
  if (pathStart < 0) return '/'
  let end = url.length
  const q = url.indexOf('?', pathStart)
  if (q >= 0) end = q
  const h = url.indexOf('#', pathStart)
  if (h >= 0 && h < end) end = h
  return url.slice(pathStart, end)
}

/**
 * The mount a path is under: the LONGEST of `basePaths` that prefixes it (mounts may nest, e.g.
 * `/api/streams` and `/api/streams/v1/stream`), or undefined.
 */
export function mountOf(pathname: string, basePaths: readonly string[]): string | undefined {
  let best: string | undefined
  for (const bp of basePaths) {
    if (pathname.startsWith(`${bp}/`) && (best === undefined || bp.length > best.length)) best = bp
  }
  return best
}

/** Classifies a request pathname against the mount prefix. */
export function routeRequestPath(pathname: string, basePath: string): RouteTarget {
  const prefix = `${basePath}/`
  if (!pathname.startsWith(prefix)) return { kind: 'outside' }
  const rest = pathname.slice(prefix.length)
  const firstSegment = rest.split('/', 1)[0]
  if (firstSegment === RESERVED_SEGMENT) return { kind: 'reserved', subPath: rest.slice(RESERVED_SEGMENT.length + 1) }
  const decoded = decodeStreamPath(rest)
  if (!decoded.ok) return { kind: 'invalid', reason: decoded.reason }
  if (decoded.path.split('/', 1)[0] === RESERVED_SEGMENT) return { kind: 'invalid', reason: 'Stream paths under __ds are reserved' }
  return { kind: 'stream', path: decoded.path }
}

/** Stream-Forked-From: a URL path on this server, with or without (one of) the mount prefix(es). */
export function resolveSourcePath(header: string, basePaths: string | string[]) {
  let raw = trimOws(header)
  try {
    if (/^https?:\/\//i.test(raw)) raw = new URL(raw).pathname
  } catch {
    return { ok: false as const, reason: 'Stream-Forked-From is not a valid path' }
  }
  const basePath = mountOf(raw, (typeof basePaths === 'string' ? [basePaths] : basePaths).filter((bp) => bp !== ''))
  if (basePath) raw = raw.slice(basePath.length + 1)
  else raw = raw.replace(/^\/+/, '')
  return decodeStreamPath(raw)
}
