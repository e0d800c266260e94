/**
 * Offsets: opaque to clients, `SSSSSSSSSSSSSSSS_PPPPPPPPPPPPPPPP` to us: the sequence number of
 * the last append included (16 digits) and the byte position after it (16 digits). Fixed width
 * makes string order equal stream order; `0000000000000000_0000000000000000` is the start.
 */

export interface Position {
  /** Sequence number of the last append before this position (0 = stream start). */
  seq: number
  /** Byte position after that append (stored bytes; JSON text for JSON streams). */
  pos: number
}

export type OffsetParam = { kind: 'start' } | { kind: 'now' } | { kind: 'at'; at: Position }

const WIDTH = 16
const OFFSET_RE = /^(\d{16})_(\d{16})$/
const ZEROS = '0000000000000000'

export const START_POSITION: Position = Object.freeze({ seq: 0, pos: 0 })

function pad(n: number): string {
  const s = String(n)
  return s.length >= WIDTH ? s : ZEROS.slice(s.length) + s
}

export function encodeOffset(p: Position): string {
  return `${pad(p.seq)}_${pad(p.pos)}`
}

/** Parses a server-minted offset token; null when malformed. */
export function decodeOffset(token: string): Position | null {
  const m = OFFSET_RE.exec(token)
  if (!m) return null
  const seq = Number(m[1])
  const pos = Number(m[2])
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(pos)) return null
  return { seq, pos }
}

/** Parses the `offset` query parameter: `-1`, `now`, or an offset token. */
export function parseOffsetParam(raw: string | null): OffsetParam | null {
  if (raw === null || raw === '-1') return { kind: 'start' }
  if (raw === 'now') return { kind: 'now' }
  const at = decodeOffset(raw)
  return at ? { kind: 'at', at } : null
}

export function comparePositions(a: Position, b: Position): number {
  return a.seq === b.seq ? a.pos - b.pos : a.seq - b.seq
}
