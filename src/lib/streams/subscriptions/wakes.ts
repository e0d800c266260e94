/**
 * Scheduling around each wake (PROTOCOL.md sections 6-7): starting one (a signed webhook POST, or
 * a pull-wake event appended to the wake stream), finishing it, backing off after a failure,
 * and the one deadline per subscription (its lease while a wake is in flight, else its next
 * webhook attempt). Every method that changes state does so inside a host operation (`tx`);
 * what reaches the network runs after that operation is kept.
 */
import type { Logger } from '../../common/logger'
import type { StreamAccess } from '../seams'
import type { WebhookPoster } from './deliver'
import { Deadlines } from './deadlines'
import type { SubscriptionHost, SubscriptionTx } from './host'
import { pendingInfos } from './links'
import type { WakeTokens, WebhookSigner } from './signing'
import type { StreamInfo, Subscription } from './types'
import { appendWakeEvent, sendWebhook } from './wake-io'
import { ackSnapshot, backOff, beginWake, clearWake, isIdle, settleWake } from './wake-state'

export interface EngineDeps {
  host: SubscriptionHost
  /** For appending wake events (after the operation that started the wake is kept). */
  access: StreamAccess
  signer: WebhookSigner
  tokens: WakeTokens
  post: WebhookPoster
  now: () => number
  random: () => number
  webhookTimeoutMs: number
  log: Logger
}

/** When a subscription's one timer is due: its lease while a wake is in flight, else its next retry. */
function deadlineOf(sub: Subscription): number | null {
  return sub.wakeId !== null ? sub.leaseExpiresAt : sub.nextAttemptAt
}

export class WakeScheduler {
  private readonly deadlines = new Deadlines()
  private readonly deliveries = new Map<string, { wakeId: string; abort: AbortController }>()
  private closed = false

  constructor(private readonly deps: EngineDeps) {}

  close(): void {
    this.closed = true
    this.deadlines.close()
    for (const d of this.deliveries.values()) d.abort.abort(new Error('subscriptions closed'))
    this.deliveries.clear()
  }

  /** The subscription is gone: its timer and any webhook POST in flight on this node. */
  forget(id: string): void {
    this.deadlines.clear(id)
    this.deliveries.get(id)?.abort.abort(new Error('subscription deleted'))
    this.deliveries.delete(id)
  }

  maybeWake(tx: SubscriptionTx, sub: Subscription): void {
    if (this.closed || !isIdle(sub)) return
    if (pendingInfos(tx.streams, sub).length > 0) this.startWake(tx, sub)
  }

  startWake(tx: SubscriptionTx, sub: Subscription): void {
    const pending = pendingInfos(tx.streams, sub)
    const wakeId = beginWake(sub, pending)
    const { generation } = sub
    if (sub.config.type === 'webhook') {
      // Webhook lease starts when the wake is issued.
      sub.leaseExpiresAt = this.deps.now() + sub.config.leaseTtlMs
      this.save(tx, sub)
      const target = { id: sub.id, incarnation: sub.incarnation, url: sub.config.webhookUrl, callbackUrl: sub.callbackUrl }
      tx.after(() =>
        void this.deliver(target, wakeId, generation, pending).catch((err) =>
          this.deps.log.warn({ err }, `subscription ${sub.id}: webhook wake failed`),
        ),
      )
    } else {
      // Pull-wake lease starts at claim.
      sub.leaseExpiresAt = null
      this.save(tx, sub)
      const event = { subscription_id: sub.id, stream: pending[0]?.path ?? null, generation, ts: this.deps.now() }
      const wakeStream = sub.config.wakeStream!
      tx.after(() => void appendWakeEvent(this.deps.access, this.deps.log, event, wakeStream))
    }
  }

  /** Ends the current wake normally; starts the next one if work remains. */
  finishWake(tx: SubscriptionTx, sub: Subscription): boolean {
    settleWake(sub)
    const next = pendingInfos(tx.streams, sub).length > 0
    if (next) this.startWake(tx, sub)
    else this.save(tx, sub)
    return next
  }

  /** A webhook wake failed (error status, network error, timeout, or lease lapse): back off. */
  failWake(tx: SubscriptionTx, sub: Subscription): void {
    backOff(sub, this.deps.now(), this.deps.random)
    this.save(tx, sub)
  }

  onDeadline(tx: SubscriptionTx, id: string): void {
    const sub = tx.subs.get(id)
    if (this.closed || !sub) return
    const due = deadlineOf(sub)
    if (due === null) return
    // Armed from an older state (this node's, or before another node moved the lease on).
    if (due > this.deps.now()) {
      this.arm(sub)
      return
    }
    if (sub.wakeId !== null) {
      if (sub.config.type === 'webhook') {
        const inFlight = this.deliveries.get(sub.id)
        // Aborting makes deliver() record the failure; otherwise the receiver went quiet.
        if (inFlight && inFlight.wakeId === sub.wakeId) inFlight.abort.abort(new Error('lease expired'))
        else this.failWake(tx, sub)
      } else {
        clearWake(sub)
        if (pendingInfos(tx.streams, sub).length > 0) this.startWake(tx, sub)
        else this.save(tx, sub)
      }
      return
    }
    sub.nextAttemptAt = null
    if (pendingInfos(tx.streams, sub).length > 0) this.startWake(tx, sub)
    else {
      sub.status = 'active'
      sub.retryCount = 0
      this.save(tx, sub)
    }
  }

  private async deliver(
    target: { id: string; incarnation: string; url: string | null; callbackUrl: string },
    wakeId: string,
    generation: number,
    streams: StreamInfo[],
  ): Promise<void> {
    const { deps } = this
    const { id, url } = target
    const isCurrent = (sub: Subscription | undefined): sub is Subscription =>
      !this.closed && sub !== undefined && sub.incarnation === target.incarnation && sub.wakeId === wakeId
    if (url === null) return
    const token = await this.issueToken({ id, incarnation: target.incarnation }, wakeId, generation)
    if (!isCurrent(deps.host.cached().get(id))) return
    const result = await sendWebhook({
      post: deps.post,
      signer: deps.signer,
      now: deps.now,
      timeoutMs: deps.webhookTimeoutMs,
      url,
      payload: { subscription_id: id, wake_id: wakeId, generation, streams, callback_url: target.callbackUrl, callback_token: token },
      track: (abort) => {
        this.deliveries.set(id, { wakeId, abort })
        return () => {
          if (this.deliveries.get(id)?.abort === abort) this.deliveries.delete(id)
        }
      },
    })
    await deps.host.run({}, (tx) => {
      const sub = tx.subs.get(id)
      // A callback, lease lapse or delete may have moved on while the POST was in flight.
      if (!isCurrent(sub)) return
      if (!result.ok) {
        deps.log.warn({ detail: result.detail }, `subscription ${id}: ${result.reason}`)
        this.failWake(tx, sub)
        return
      }
      sub.status = 'active'
      sub.retryCount = 0
      if (!result.done) {
        this.save(tx, sub)
        return
      }
      // Synchronous completion: ack exactly what this wake offered, then look again.
      tx.repo.saveLinks(sub.id, ackSnapshot(sub))
      this.finishWake(tx, sub)
    })
  }

  issueToken(sub: { id: string; incarnation: string }, wakeId: string, generation: number): Promise<string> {
    return this.deps.tokens.issue({ subscriptionId: sub.id, incarnation: sub.incarnation, generation, wakeId }, this.deps.now())
  }

  save(tx: SubscriptionTx, sub: Subscription): void {
    if (tx.subs.get(sub.id) !== sub) return
    tx.repo.saveState(sub)
    this.arm(sub)
  }

  arm(sub: Subscription): void {
    const at = deadlineOf(sub)
    if (at === null) this.deadlines.clear(sub.id)
    else this.deadlines.set(sub.id, at - this.deps.now(), () => this.background(this.deps.host.run({}, (tx) => this.onDeadline(tx, sub.id))))
  }

  /** Store events and timers must never throw into the commit path or the event loop. */
  background(work: Promise<unknown>): void {
    work.catch((err) => {
      if (!this.closed) this.deps.log.warn({ err }, 'subscriptions: internal error')
    })
  }
}
