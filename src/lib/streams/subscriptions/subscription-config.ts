/** Parsing and hashing of subscription requests (PROTOCOL.md 6.2, 6.4, 7.1-7.2). */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { checkPattern, checkStreamPath } from './paths'
import type { SubscriptionConfig } from './types'

export const DEFAULT_LEASE_TTL_MS = 30_000
export const MIN_LEASE_TTL_MS = 1_000
export const MAX_LEASE_TTL_MS = 600_000
const MAX_STREAMS_PER_REQUEST = 1_000

/** Client-chosen ids are path segments: keep them to characters that need no encoding. */
const SUBSCRIPTION_ID = /^[A-Za-z0-9._~:@-]{1,200}$/

export function checkSubscriptionId(id: string): string | null {
  return SUBSCRIPTION_ID.test(id) ? null : 'subscription id must be 1-200 characters of A-Z a-z 0-9 . _ ~ : @ -'
}

const createBody = z.object({
  type: z.enum(['webhook', 'pull-wake']),
  pattern: z.string().max(1024).nullish(),
  streams: z.array(z.string().max(1024)).max(MAX_STREAMS_PER_REQUEST).nullish(),
  webhook: z.object({ url: z.string().min(1).max(2048) }).nullish(),
  wake_stream: z.string().max(1024).nullish(),
  lease_ttl_ms: z.number().int().min(MIN_LEASE_TTL_MS).max(MAX_LEASE_TTL_MS).nullish(),
  description: z.string().max(1024).nullish(),
})

const streamsBody = z.object({
  streams: z.array(z.string().max(1024)).min(1).max(MAX_STREAMS_PER_REQUEST),
})

const offsetString = z.string().min(1).max(256)

const wakeBody = z.object({
  wake_id: z.string().min(1).max(200),
  generation: z.number().int().nonnegative(),
  acks: z
    .array(
      z
        .object({ stream: z.string().max(1024).optional(), path: z.string().max(1024).optional(), offset: offsetString })
        .refine((a) => a.stream !== undefined || a.path !== undefined, 'ack needs stream'),
    )
    .max(MAX_STREAMS_PER_REQUEST)
    .optional(),
  done: z.boolean().optional(),
})

const claimBody = z.object({ worker: z.string().min(1).max(256) })

export interface WakeRequest {
  wakeId: string
  generation: number
  acks: { stream: string; offset: string }[]
  done: boolean
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string }

function zodReason(error: z.ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid request body'
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
  return `${where}${issue.message}`
}

function normalizeStreams(raw: string[]): Parsed<string[]> {
  const out = new Set<string>()
  for (const s of raw) {
    const checked = checkStreamPath(s)
    if ('error' in checked) return { ok: false, reason: checked.error }
    out.add(checked.path)
  }
  return { ok: true, value: [...out].sort() }
}

export function parseCreate(body: unknown): Parsed<SubscriptionConfig> {
  const r = createBody.safeParse(body)
  if (!r.success) return { ok: false, reason: zodReason(r.error) }
  const b = r.data

  let pattern: string | null = null
  if (b.pattern != null && b.pattern !== '') {
    const checked = checkPattern(b.pattern)
    if ('error' in checked) return { ok: false, reason: checked.error }
    pattern = checked.pattern
  }
  const streams = normalizeStreams(b.streams ?? [])
  if (!streams.ok) return streams
  if (pattern === null && streams.value.length === 0) {
    return { ok: false, reason: 'at least one of pattern or streams is required' }
  }

  let webhookUrl: string | null = null
  let wakeStream: string | null = null
  if (b.type === 'webhook') {
    if (!b.webhook) return { ok: false, reason: 'webhook subscriptions require webhook.url' }
    if (b.wake_stream != null) return { ok: false, reason: 'wake_stream is only for pull-wake subscriptions' }
    webhookUrl = b.webhook.url
  } else {
    if (b.wake_stream == null || b.wake_stream === '') {
      return { ok: false, reason: 'pull-wake subscriptions require wake_stream' }
    }
    if (b.webhook != null) return { ok: false, reason: 'webhook is only for webhook subscriptions' }
    const checked = checkStreamPath(b.wake_stream)
    if ('error' in checked) return { ok: false, reason: `wake_stream: ${checked.error}` }
    wakeStream = checked.path
    if (streams.value.includes(wakeStream)) {
      return { ok: false, reason: 'a subscription cannot list its own wake_stream' }
    }
  }

  return {
    ok: true,
    value: {
      type: b.type,
      pattern,
      streams: streams.value,
      webhookUrl,
      wakeStream,
      leaseTtlMs: b.lease_ttl_ms ?? DEFAULT_LEASE_TTL_MS,
      description: b.description ?? null,
    },
  }
}

/** sha256 over the normalized configuration; equal hashes mean "same subscription". */
export function configHash(c: SubscriptionConfig): string {
  const canonical = JSON.stringify([
    c.type,
    c.pattern,
    c.streams,
    c.webhookUrl === null ? null : { url: c.webhookUrl },
    c.wakeStream,
    c.leaseTtlMs,
    c.description,
  ])
  return createHash('sha256').update(canonical).digest('hex')
}

export function parseStreams(body: unknown): Parsed<string[]> {
  const r = streamsBody.safeParse(body)
  if (!r.success) return { ok: false, reason: zodReason(r.error) }
  return normalizeStreams(r.data.streams)
}

export function parseWake(body: unknown): Parsed<WakeRequest> {
  const r = wakeBody.safeParse(body)
  if (!r.success) return { ok: false, reason: zodReason(r.error) }
  return {
    ok: true,
    value: {
      wakeId: r.data.wake_id,
      generation: r.data.generation,
      acks: (r.data.acks ?? []).map((a) => ({ stream: a.stream ?? a.path ?? '', offset: a.offset })),
      done: r.data.done === true,
    },
  }
}

export function parseClaim(body: unknown): Parsed<{ worker: string }> {
  const r = claimBody.safeParse(body)
  if (!r.success) return { ok: false, reason: zodReason(r.error) }
  return { ok: true, value: r.data }
}
