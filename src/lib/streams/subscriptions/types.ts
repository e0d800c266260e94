/** Shapes shared by the subscription engine, its store and its HTTP adapter. */

export type SubscriptionType = 'webhook' | 'pull-wake'
export type LinkType = 'glob' | 'explicit'

/** The normalized, hashed part of a subscription (what PUT compares for re-confirmation). */
export interface SubscriptionConfig {
  type: SubscriptionType
  pattern: string | null
  /** Explicit streams given at creation: normalized, unique, sorted. */
  streams: string[]
  webhookUrl: string | null
  wakeStream: string | null
  leaseTtlMs: number
  description: string | null
}

/** One cursor: a linked stream and its last processed (inclusive) offset. */
export interface StreamLink {
  path: string
  explicit: boolean
  glob: boolean
  ackedOffset: string
}

export interface Subscription {
  id: string
  incarnation: string
  config: SubscriptionConfig
  configHash: string
  createdAt: string
  callbackUrl: string
  jwksUrl: string
  status: 'active' | 'failed'
  /** Fencing counter; +1 for every wake. */
  generation: number
  /** The wake in flight (issued, delivered or claimed), or null when none is. */
  wakeId: string | null
  /** Tails offered by the current wake; a webhook's `{done:true}` acks exactly these. */
  wakeSnapshot: Record<string, string> | null
  /** Pull-wake: the worker holding the claim. */
  holder: string | null
  leaseExpiresAt: number | null
  /** Consecutive failed webhook wakes; drives the backoff. */
  retryCount: number
  /** Webhook backoff: when the next wake may be sent (no wake in flight meanwhile). */
  nextAttemptAt: number | null
  links: Map<string, StreamLink>
}

export interface StreamInfo {
  path: string
  link_type: LinkType
  acked_offset: string
  tail_offset: string
  has_pending: boolean
}

export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'SUBSCRIPTION_NOT_FOUND'
  | 'SUBSCRIPTION_ALREADY_EXISTS'
  | 'WEBHOOK_URL_REJECTED'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'FENCED'
  | 'ALREADY_CLAIMED'
  | 'NO_PENDING_WORK'
  | 'INVALID_OFFSET'

/** An engine outcome the HTTP adapter turns into a response. */
export type Outcome =
  | { status: 200 | 201; body: unknown }
  | { status: 204 }
  | { status: number; error: { code: ErrorCode; message: string; [extra: string]: unknown } }

export function fail(status: number, code: ErrorCode, message: string, extra?: Record<string, unknown>): Outcome {
  return { status, error: { code, message, ...extra } }
}

export function linkType(link: StreamLink): LinkType {
  return link.explicit ? 'explicit' : 'glob'
}
