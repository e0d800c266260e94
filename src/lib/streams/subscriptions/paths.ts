/** Pure helpers for stream paths, glob patterns and offset cursors. */

/** Cursor value meaning "before the first message" (the protocol's `-1` sentinel). */
export const BEFORE_FIRST = '-1'

const MAX_PATH_LENGTH = 1024

/** Strips leading/trailing slashes: `/events/a/` -> `events/a`. */
export function normalizePath(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '')
}

/** A stream-root-relative path a subscription may link, or a reason it is not one. */
export function checkStreamPath(raw: string): { path: string } | { error: string } {
  const path = normalizePath(raw)
  if (path.length === 0) return { error: 'stream path must not be empty' }
  if (path.length > MAX_PATH_LENGTH) return { error: `stream path longer than ${MAX_PATH_LENGTH}` }
  const segments = path.split('/')
  if (segments.some((s) => s.length === 0)) return { error: `stream path "${path}" has an empty segment` }
  if (segments.some((s) => s === '.' || s === '..')) return { error: `stream path "${path}" has a dot segment` }
  if (segments[0] === '__ds') return { error: 'paths under __ds are reserved' }
  return { path }
}

/** A glob pattern (`*` = one segment, `**` = zero or more), or a reason it is not one. */
export function checkPattern(raw: string): { pattern: string } | { error: string } {
  const pattern = normalizePath(raw)
  if (pattern.length === 0) return { error: 'pattern must not be empty' }
  if (pattern.length > MAX_PATH_LENGTH) return { error: `pattern longer than ${MAX_PATH_LENGTH}` }
  for (const segment of pattern.split('/')) {
    if (segment.length === 0) return { error: `pattern "${pattern}" has an empty segment` }
    // Wildcards only as whole segments: `ev*` has no defined meaning in the protocol.
    if (segment.includes('*') && segment !== '*' && segment !== '**') {
      return { error: `pattern segment "${segment}": * and ** must be whole segments` }
    }
  }
  return { pattern }
}

/** Does `path` match `pattern`? `*` matches one segment, `**` zero or more. */
export function globMatch(pattern: string, path: string): boolean {
  const p = normalizePath(pattern).split('/').filter(Boolean)
  const s = normalizePath(path).split('/').filter(Boolean)
  // Reserved control paths never match, whatever the pattern.
  if (s[0] === '__ds') return false
  return matchFrom(p, 0, s, 0)
}

function matchFrom(p: string[], pi: number, s: string[], si: number): boolean {
  while (pi < p.length) {
    const seg = p[pi]
    if (seg === '**') {
      // Collapse runs of ** then try every split point.
      while (p[pi + 1] === '**') pi++
      if (pi === p.length - 1) return true
      for (let k = si; k <= s.length; k++) if (matchFrom(p, pi + 1, s, k)) return true
      return false
    }
    if (si >= s.length) return false
    if (seg !== '*' && seg !== s[si]) return false
    pi++
    si++
  }
  return si === s.length
}

/**
 * Orders two offsets of the same stream. Offsets are opaque but lexicographically sortable
 * (PROTOCOL.md section 8); `-1` sorts before every real offset whatever its alphabet.
 */
export function compareOffsets(a: string, b: string): number {
  if (a === b) return 0
  if (a === BEFORE_FIRST) return -1
  if (b === BEFORE_FIRST) return 1
  return a < b ? -1 : 1
}
