/**
 * The event ids a session's stream holds, in bounded memory: the most recent `exactLimit` ids
 * exactly (retries are almost always of recent writes), older ones in a scalable Bloom filter.
 * `has` answers 'yes' (certainly in the stream), 'no' (certainly not) or 'maybe' (an older id
 * may match: the caller must look in the stream itself). False 'maybe's are rare (~0.1 %);
 * there are no false 'no's.
 */

/** Ids kept exactly per session before the oldest move to the Bloom filter. */
export const DEFAULT_EXACT_EVENT_IDS = 20_000

const BITS_PER_ID = 15 // with 10 hashes: ~0.1 % false positives per layer at capacity
const HASHES = 10

/** 32-bit FNV-1a with a seed: two of them give the k indexes (Kirsch–Mitzenmacher). */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

class BloomLayer {
  private readonly bits: Uint32Array
  private readonly size: number
  count = 0
  constructor(readonly capacity: number) {
    this.size = capacity * BITS_PER_ID
    this.bits = new Uint32Array(Math.ceil(this.size / 32))
  }
  private probe(id: string, set: boolean): boolean {
    const a = fnv1a(id, 0)
    const b = fnv1a(id, 0x5bd1e995) | 1
    for (let i = 0; i < HASHES; i++) {
      const at = ((a + Math.imul(i, b)) >>> 0) % this.size
      const mask = 1 << (at & 31)
      if (set) this.bits[at >>> 5] |= mask
      else if ((this.bits[at >>> 5] & mask) === 0) return false
    }
    return true
  }
  add(id: string): void {
    this.probe(id, true)
    this.count++
  }
  mayHave(id: string): boolean {
    return this.probe(id, false)
  }
}

export class EventIdIndex {
  /** Insertion-ordered: the first entries are the oldest. */
  private readonly recent = new Set<string>()
  private readonly layers: BloomLayer[] = []

  constructor(private readonly exactLimit = DEFAULT_EXACT_EVENT_IDS) {}

  get exactSize(): number {
    return this.recent.size
  }

  /** True once some ids live only in the Bloom filter. */
  get spilled(): boolean {
    return this.layers.length > 0
  }

  add(id: string): void {
    if (this.recent.has(id)) return
    this.recent.add(id)
    if (this.recent.size <= this.exactLimit) return
    const oldest = this.recent.values().next().value as string
    this.recent.delete(oldest)
    let layer = this.layers.at(-1)
    if (!layer || layer.count >= layer.capacity) {
      // Each layer twice the last: memory stays ~15 bits per spilled id.
      layer = new BloomLayer(layer ? layer.capacity * 2 : Math.max(1024, this.exactLimit))
      this.layers.push(layer)
    }
    layer.add(oldest)
  }

  has(id: string): 'yes' | 'no' | 'maybe' {
    if (this.recent.has(id)) return 'yes'
    for (const layer of this.layers) if (layer.mayHave(id)) return 'maybe'
    return 'no'
  }
}
