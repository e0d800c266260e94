/**
 * The event ids a session's stream holds (and who started each message), in bounded memory: the most recent `exactLimit` ids
 * exactly (retries are almost always of recent writes), older ones in a scalable Bloom filter
 * backed by a 52-bit fingerprint per id. `has` answers 'yes' (certainly in the stream), 'no'
 * (certainly not) or 'maybe' (an older id matches: the caller must look in the stream itself).
 * There are no false 'no's. The Bloom filter alone said 'maybe' for ~0.1 % of new ids, and each
 * one cost the writer a read of the whole stream: with many writes to a long session that grew
 * with the stream (specs/benchmarks.md, "the app's write path"). Its 'maybe's are now checked
 * against the fingerprints (a scan of a typed array), so a 'maybe' reaches the caller only for an
 * id that was really spilled (a late retry) or a ~n/2^52 fingerprint collision. Cost: 8 bytes per
 * spilled id besides the filter's ~2.
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

/** A Bloom filter that grows by layers (each twice the last): ~15 bits per id, no false 'no's. */
export class ScalableBloom {
  private readonly layers: BloomLayer[] = []
  constructor(private readonly firstCapacity = 1024) {}

  get empty(): boolean {
    return this.layers.length === 0
  }

  add(id: string): void {
    let layer = this.layers.at(-1)
    if (!layer || layer.count >= layer.capacity) {
      layer = new BloomLayer(layer ? layer.capacity * 2 : this.firstCapacity)
      this.layers.push(layer)
    }
    layer.add(id)
  }

  mayHave(id: string): boolean {
    for (const layer of this.layers) if (layer.mayHave(id)) return true
    return false
  }
}

/** A 52-bit fingerprint of an id, exact in a double: two seeded FNV-1a hashes, 32 + 20 bits. */
function fingerprint(id: string): number {
  return fnv1a(id, 0x2545f491) * 0x100000 + (fnv1a(id, 0x9e3779b9) & 0xfffff)
}

/** Fingerprints of spilled ids, appended in one growing typed array (scanned only on a Bloom 'maybe'). */
class Fingerprints {
  private values = new Float64Array(1024)
  private count = 0

  add(id: string): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.count++] = fingerprint(id)
  }

  mayHave(id: string): boolean {
    const fp = fingerprint(id)
    const values = this.values
    for (let i = 0; i < this.count; i++) if (values[i] === fp) return true
    return false
  }
}

export class EventIdIndex {
  private readonly recent = new Set<string>()
  /**
   * The exact ids in insertion order, as a ring (the oldest at `oldest` once full): taking the
   * oldest from the Set itself (`values().next()`) walked past every deleted slot, ~8 % of a
   * write's time once a session passed the limit.
   */
  private readonly order: string[] = []
  private oldest = 0
  private readonly spilledIds: ScalableBloom
  private readonly spilledPrints = new Fingerprints()

  constructor(private readonly exactLimit = DEFAULT_EXACT_EVENT_IDS) {
    this.spilledIds = new ScalableBloom(Math.max(1024, exactLimit))
  }

  get exactSize(): number {
    return this.recent.size
  }

  /** True once some ids live only in the Bloom filter. */
  get spilled(): boolean {
    return !this.spilledIds.empty
  }

  add(id: string): void {
    if (this.recent.has(id)) return
    this.recent.add(id)
    if (this.order.length < this.exactLimit) {
      this.order.push(id)
      return
    }
    const oldest = this.order[this.oldest]
    this.order[this.oldest] = id
    this.oldest = (this.oldest + 1) % this.exactLimit
    this.recent.delete(oldest)
    this.spilledIds.add(oldest)
    this.spilledPrints.add(oldest)
  }

  has(id: string): 'yes' | 'no' | 'maybe' {
    if (this.recent.has(id)) return 'yes'
    return this.spilledIds.mayHave(id) && this.spilledPrints.mayHave(id) ? 'maybe' : 'no'
  }
}

/** Message authors kept exactly per session before the oldest move to Bloom filters. */
export const DEFAULT_EXACT_MESSAGE_AUTHORS = 10_000

/**
 * Who started each message of a session (a message's author is fixed by its first chunk), in
 * bounded memory: the newest `exactLimit` messages exactly, older ones as two Bloom filters
 * ("this message exists" and "this message belongs to this author"). For an old message the
 * answer errs towards the claimant only on a Bloom false positive (~0.1 %): a different author
 * gets 'other' unless both filters happen to match.
 */
export class MessageAuthors {
  /** messageId → author; insertion-ordered, the first entries are the oldest. */
  private readonly recent = new Map<string, string>()
  private readonly started: ScalableBloom
  private readonly owned: ScalableBloom

  constructor(private readonly exactLimit = DEFAULT_EXACT_MESSAGE_AUTHORS) {
    this.started = new ScalableBloom(Math.max(1024, exactLimit))
    this.owned = new ScalableBloom(Math.max(1024, exactLimit))
  }

  get size(): number {
    return this.recent.size
  }

  /** Whether `author` may write into `messageId`: it started it ('mine'), nobody did ('new'), or someone else did. */
  check(messageId: string, author: string): 'mine' | 'new' | 'other' {
    const owner = this.recent.get(messageId)
    if (owner !== undefined) return owner === author ? 'mine' : 'other'
    if (!this.started.mayHave(messageId)) return 'new'
    return this.owned.mayHave(ownedKey(messageId, author)) ? 'mine' : 'other'
  }

  /** Records the author of a message's first chunk; later claims on a known message change nothing. */
  claim(messageId: string, author: string): void {
    if (this.check(messageId, author) !== 'new') return
    this.recent.set(messageId, author)
    if (this.recent.size <= this.exactLimit) return
    const [oldest, oldestAuthor] = this.recent.entries().next().value as [string, string]
    this.recent.delete(oldest)
    this.started.add(oldest)
    this.owned.add(ownedKey(oldest, oldestAuthor))
  }
}

const ownedKey = (messageId: string, author: string) => `${messageId}\u0000${author}`
