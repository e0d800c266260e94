/**
 * Offset order on the client. Durable Streams offsets are opaque, but Tether's (and the protocol's
 * recommendation) are fixed-width strings that sort lexicographically; "-1" is before everything.
 */
export function compareOffsets(a: string, b: string): number {
  if (a === b) return 0
  if (a === '-1') return -1
  if (b === '-1') return 1
  return a < b ? -1 : 1
}

export function isAtOrAfter(applied: string, target: string): boolean {
  return compareOffsets(applied, target) >= 0
}
