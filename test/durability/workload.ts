/**
 * The write load of the kill test: sequential plain writers and pipelined idempotent producers,
 * recording every request sent and whether it was acknowledged (a 2xx received).
 */
import { Pool } from 'undici'

export const JSON_TYPE = 'application/json'

/** A message as sent; `id` is unique across the run. */
export interface SentMessage {
  id: string
  text: string
}

export interface SentRequest {
  /** 'plain' = sequential writer, 'producer' = idempotent producer */
  kind: 'plain' | 'producer'
  stream: string
  /** writer or producer id */
  source: string
  /** request index per source: the producer seq, or the writer's k-th append */
  seq: number
  epoch: number
  messages: SentMessage[]
  /** the exact body bytes sent */
  body: string
  /** a 2xx was received */
  acked: boolean
  /** status received, if any (undefined: no response, e.g. killed mid-flight) */
  status?: number
}

export interface Source {
  kind: 'plain' | 'producer'
  id: string
  stream: string
  epoch: number
  sent: SentRequest[]
}

// Multi-byte characters, so a torn write would split a code point and show up as bad JSON.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789 éüñ✓→€😀"\\'

function randomText(len: number): string {
  let s = ''
  for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(Math.random() * ALPHABET.length)]
  return s
}

/** 1-4 messages; a single message is sometimes sent bare, not wrapped in an array. */
export function makeRequestBody(source: string, seq: number): { messages: SentMessage[]; body: string } {
  const count = 1 + Math.floor(Math.random() * 4)
  const messages: SentMessage[] = []
  for (let i = 0; i < count; i++) {
    const value = { id: `${source}/${seq}/${i}`, pad: randomText(10 + Math.floor(Math.random() * 300)) }
    messages.push({ id: value.id, text: JSON.stringify(value) })
  }
  const body = count === 1 && Math.random() < 0.5 ? messages[0].text : `[${messages.map((m) => m.text).join(',')}]`
  return { messages, body }
}

export function producerHeaders(r: Pick<SentRequest, 'source' | 'epoch' | 'seq'>): Record<string, string> {
  return {
    'content-type': JSON_TYPE,
    'producer-id': r.source,
    'producer-epoch': String(r.epoch),
    'producer-seq': String(r.seq),
  }
}

export interface WorkloadShape {
  plainStreams: string[]
  writersPerPlainStream: number
  producerStreams: string[]
  producersPerStream: number
  /** requests each producer keeps in flight on its one pipelined connection */
  producerWindow: number
}

/**
 * Runs until every source has stopped: a source stops at its first failure (no response,
 * e.g. the server was killed) or unexpected status, which it records.
 */
export class Workload {
  readonly sources: Source[] = []
  /** statuses other than the expected success, with context: must stay empty before the kill */
  readonly unexpected: string[] = []
  ackedRequests = 0
  private pools: Pool[] = []
  private done: Promise<void>[] = []
  private stopped = false

  constructor(
    private readonly origin: string,
    private readonly streamPath: (p: string) => string,
    private readonly shape: WorkloadShape,
  ) {
    for (const stream of shape.plainStreams) {
      for (let w = 0; w < shape.writersPerPlainStream; w++) {
        this.sources.push({ kind: 'plain', id: `${stream}:w${w}`, stream, epoch: 0, sent: [] })
      }
    }
    for (const stream of shape.producerStreams) {
      for (let p = 0; p < shape.producersPerStream; p++) {
        // Odd producers run at epoch 1, so the test can also check that the epoch survives.
        this.sources.push({ kind: 'producer', id: `${stream}:p${p}`, stream, epoch: p % 2, sent: [] })
      }
    }
  }

  start(): void {
    const plainPool = new Pool(this.origin, { connections: this.sources.length })
    this.pools.push(plainPool)
    for (const source of this.sources) {
      if (source.kind === 'plain') this.done.push(this.runPlain(plainPool, source))
      else {
        const pool = new Pool(this.origin, { connections: 1, pipelining: this.shape.producerWindow })
        this.pools.push(pool)
        this.done.push(this.runProducer(pool, source))
      }
    }
  }

  /** Requests sent that have no response (yet, or ever if the server died first). */
  inFlight(): number {
    let n = 0
    for (const s of this.sources) for (const r of s.sent) if (r.status === undefined) n++
    return n
  }

  /** Stops issuing new requests (in-flight ones still complete or fail). */
  halt(): void {
    this.stopped = true
  }

  async finished(): Promise<void> {
    await Promise.all(this.done)
    await Promise.all(this.pools.map((p) => p.destroy()))
  }

  private async send(pool: Pool, r: SentRequest, headers: Record<string, string>, pipelined: boolean) {
    const res = await pool.request({
      path: this.streamPath(r.stream),
      method: 'POST',
      headers,
      body: r.body,
      // Producer appends are idempotent by protocol; undici pipelines only idempotent,
      // non-blocking requests.
      ...(pipelined ? { idempotent: true, blocking: false } : {}),
    })
    await res.body.dump()
    r.status = res.statusCode
    return res.statusCode
  }

  private async runPlain(pool: Pool, source: Source): Promise<void> {
    for (let k = 0; !this.stopped; k++) {
      const { messages, body } = makeRequestBody(source.id, k)
      const r: SentRequest = { kind: 'plain', stream: source.stream, source: source.id, seq: k, epoch: 0, messages, body, acked: false }
      source.sent.push(r)
      try {
        const status = await this.send(pool, r, { 'content-type': JSON_TYPE }, false)
        if (status < 200 || status >= 300) {
          this.unexpected.push(`${source.id} append ${k}: HTTP ${status}`)
          return
        }
        r.acked = true
        this.ackedRequests++
      } catch {
        return // no response: the server is gone
      }
    }
  }

  private async runProducer(pool: Pool, source: Source): Promise<void> {
    const inFlight = new Set<Promise<void>>()
    let failed = false
    for (let seq = 0; !this.stopped && !failed; seq++) {
      const { messages, body } = makeRequestBody(source.id, seq)
      const r: SentRequest = {
        kind: 'producer',
        stream: source.stream,
        source: source.id,
        seq,
        epoch: source.epoch,
        messages,
        body,
        acked: false,
      }
      source.sent.push(r)
      const p = this.send(pool, r, producerHeaders(r), true).then(
        (status) => {
          // A fresh request is new data: 200. (204 would mean the server saw it already.)
          if (status !== 200) {
            this.unexpected.push(`${source.id} seq ${r.seq}: HTTP ${status}`)
            failed = true
            return
          }
          r.acked = true
          this.ackedRequests++
        },
        () => {
          failed = true
        },
      )
      inFlight.add(p)
      void p.finally(() => inFlight.delete(p))
      if (inFlight.size >= this.shape.producerWindow) await Promise.race(inFlight)
    }
    await Promise.allSettled(inFlight)
  }
}
