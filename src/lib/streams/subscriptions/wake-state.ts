/**
 * A subscription's wake as a state machine (PROTOCOL.md sections 6-7), as pure transitions on its
 * fields: idle -> woken (generation bumped, new wake id, snapshot of what is offered) -> finished
 * (or backing off after a failed webhook). No timers, no I/O, no persistence: the engine
 * (engine.ts) schedules deadlines and deliveries around these and saves after each.
 */
import { randomBytes } from 'node:crypto'
import type { WakeRequest } from './subscription-config'
import { compareOffsets } from './paths'
import { retryDelayMs } from './retry'
import type { WakeClaims } from './signing'
import { fail, type Outcome, type StreamInfo, type StreamLink, type Subscription, type SubscriptionType } from './types'

export const newId = (prefix: string, bytes: number) => `${prefix}${randomBytes(bytes).toString('base64url')}`

export function notFound(): Outcome {
  return fail(404, 'SUBSCRIPTION_NOT_FOUND', 'subscription not found')
}

export function snapshotOf(infos: StreamInfo[]): Record<string, string> {
  return Object.fromEntries(infos.map((i) => [i.path, i.tail_offset]))
}

/** No wake in flight, nobody holding it, and not backing off: a new append may wake it. */
export function isIdle(sub: Subscription): boolean {
  return sub.wakeId === null && sub.holder === null && sub.nextAttemptAt === null
}

/** A new wake over `pending`: the generation moves on, so tokens of earlier wakes are fenced. */
export function beginWake(sub: Subscription, pending: StreamInfo[]): string {
  const wakeId = newId('w_', 12)
  sub.generation += 1
  sub.wakeId = wakeId
  sub.wakeSnapshot = snapshotOf(pending)
  sub.nextAttemptAt = null
  sub.holder = null
  return wakeId
}

/** A pull-wake worker takes the wake (a new one if none is pending) and its lease starts now. */
export function claimWake(sub: Subscription, worker: string, pending: StreamInfo[], now: number): string {
  if (sub.wakeId === null) {
    sub.generation += 1
    sub.wakeId = newId('w_', 12)
  }
  sub.holder = worker
  sub.wakeSnapshot = snapshotOf(pending)
  sub.leaseExpiresAt = now + sub.config.leaseTtlMs
  return sub.wakeId
}

export function clearWake(sub: Subscription): void {
  sub.wakeId = null
  sub.wakeSnapshot = null
  sub.holder = null
  sub.leaseExpiresAt = null
}

/** The wake ended normally: no wake, no backoff, healthy again. */
export function settleWake(sub: Subscription): void {
  clearWake(sub)
  sub.retryCount = 0
  sub.status = 'active'
  sub.nextAttemptAt = null
}

/** A webhook wake failed (error status, network error, timeout, or lease lapse): back off. */
export function backOff(sub: Subscription, now: number, random: () => number): void {
  clearWake(sub)
  sub.retryCount += 1
  sub.status = 'failed'
  sub.nextAttemptAt = now + retryDelayMs(sub.retryCount, random)
}

/** Synchronous completion (`{done:true}` in the webhook's answer): acks exactly what the wake offered. */
export function ackSnapshot(sub: Subscription): StreamLink[] {
  const acked = []
  for (const [path, tail] of Object.entries(sub.wakeSnapshot ?? {})) {
    const link = sub.links.get(path)
    if (link && compareOffsets(tail, link.ackedOffset) > 0) {
      link.ackedOffset = tail
      acked.push(link)
    }
  }
  return acked
}

/**
 * Whether a verified token and the request both name the subscription's current wake: its
 * incarnation (a re-created subscription does not accept old tokens), generation and wake id, and
 * for pull-wake a holder. Null when they do; the failure otherwise.
 */
export function fenceCheck(sub: Subscription, type: SubscriptionType, claims: WakeClaims, req: WakeRequest): Outcome | null {
  if (claims.subscriptionId !== sub.id || claims.incarnation !== sub.incarnation) {
    return fail(401, 'TOKEN_INVALID', 'token belongs to another subscription')
  }
  const current =
    sub.wakeId !== null &&
    claims.generation === sub.generation &&
    req.generation === sub.generation &&
    claims.wakeId === sub.wakeId &&
    req.wakeId === sub.wakeId &&
    (type === 'webhook' || sub.holder !== null)
  return current ? null : fail(409, 'FENCED', 'wake_id or generation is stale')
}
