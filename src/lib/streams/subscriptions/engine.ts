/**
 * The subscription engine (PROTOCOL.md sections 6-7): the control API, store events, and the
 * scheduling around each wake (leases, webhook deliveries and retries). The wake's transitions
 * themselves are wake-state.ts. Works on in-memory state, writes through to the repo after every
 * change, and talks to the stream store only through `StreamAccess`.
 *
 * One deadline per subscription drives time: the lease while a wake is in flight, otherwise
 * the next webhook attempt while backing off.
 */
import type { Logger } from '../../common/logger'
import type { StreamAccess, StreamLifecycleListener } from '../seams'
import type { WakeRequest } from './subscription-config'
import type { WebhookPoster } from './deliver'
import { Deadlines } from './deadlines'
import {
  applyAcks,
  linkInitialStreams,
  linkNewStream,
  matchesPattern,
  newSubscription,
  pendingInfos,
  relinkCreatedStream,
  repairLinks,
  tailOf,
  unlinkDeletedStream,
} from './links'
import { BEFORE_FIRST, compareOffsets } from './paths'
import type { SubscriptionRepo } from './repo'
import type { WakeTokens, WebhookSigner } from './signing'
import { fail, type Outcome, type StreamInfo, type Subscription, type SubscriptionConfig, type SubscriptionType } from './types'
import { appendWakeEvent, sendWebhook } from './wake-io'
import { ackSnapshot, backOff, beginWake, claimWake, clearWake, fenceCheck, isIdle, newId, notFound, settleWake } from './wake-state'

export interface EngineDeps {
  access: StreamAccess
  repo: SubscriptionRepo
  signer: WebhookSigner
  tokens: WakeTokens
  post: WebhookPoster
  now: () => number
  random: () => number
  webhookTimeoutMs: number
  log: Logger
}

export class SubscriptionEngine implements Required<StreamLifecycleListener> {
  private readonly subs = new Map<string, Subscription>()
  private readonly deadlines = new Deadlines()
  private readonly deliveries = new Map<string, { wakeId: string; abort: AbortController }>()
  private closed = false

  constructor(private readonly deps: EngineDeps) {}

  // ---- lifecycle -------------------------------------------------------------------------

  /** Loads persisted subscriptions, repairs links the store no longer agrees with, re-arms timers. */
  restore(): void {
    const { access, repo } = this.deps
    const livePaths = access.listPaths()
    for (const sub of repo.loadAll()) {
      this.subs.set(sub.id, sub)
      const { removed, changed } = repairLinks(access, sub, livePaths)
      repo.deleteLinks(sub.id, removed)
      repo.saveLinks(sub.id, changed)
      this.arm(sub)
    }
    for (const sub of this.subs.values()) this.maybeWake(sub)
  }

  close(): void {
    this.closed = true
    this.deadlines.close()
    for (const d of this.deliveries.values()) d.abort.abort(new Error('subscriptions closed'))
    this.deliveries.clear()
  }

  // ---- control API -------------------------------------------------------------------------

  get(id: string): Subscription | undefined {
    return this.subs.get(id)
  }

  /** Creates the subscription, or reports whether an existing one has the same config hash. */
  put(
    id: string,
    config: SubscriptionConfig,
    hash: string,
    urls: { callbackUrl: string; jwksUrl: string },
  ): { sub: Subscription; created: boolean } | { conflict: true } {
    const existing = this.subs.get(id)
    if (existing) return existing.configHash === hash ? { sub: existing, created: false } : { conflict: true }
    const sub = newSubscription(id, newId('', 9), config, hash, urls, this.deps.now())
    linkInitialStreams(this.deps.access, sub)
    this.subs.set(id, sub)
    this.deps.repo.saveAll(sub)
    return { sub, created: true }
  }

  remove(id: string): void {
    if (!this.subs.delete(id)) return
    this.deadlines.clear(id)
    this.deliveries.get(id)?.abort.abort(new Error('subscription deleted'))
    this.deliveries.delete(id)
    this.deps.repo.deleteSubscription(id)
  }

  addStreams(id: string, paths: string[]): Outcome {
    const sub = this.subs.get(id)
    if (!sub) return notFound()
    if (sub.config.wakeStream !== null && paths.includes(sub.config.wakeStream)) {
      return fail(400, 'INVALID_REQUEST', 'a subscription cannot link its own wake_stream')
    }
    const changed = []
    for (const path of paths) {
      const link = sub.links.get(path)
      if (link?.explicit) continue
      if (link) link.explicit = true
      else sub.links.set(path, { path, explicit: true, glob: false, ackedOffset: tailOf(this.deps.access, path) })
      changed.push(sub.links.get(path)!)
    }
    this.deps.repo.saveLinks(id, changed)
    return { status: 204 }
  }

  removeStream(id: string, path: string): Outcome {
    const sub = this.subs.get(id)
    if (!sub) return notFound()
    const link = sub.links.get(path)
    if (!link?.explicit) return { status: 204 }
    link.explicit = false
    // The glob link survives if the pattern still matches a live stream.
    link.glob = matchesPattern(sub, path) && this.deps.access.describe(path) !== null
    if (link.glob) this.deps.repo.saveLinks(id, [link])
    else {
      sub.links.delete(path)
      this.deps.repo.deleteLinks(id, [path])
    }
    return { status: 204 }
  }

  async claim(id: string, worker: string): Promise<Outcome> {
    const sub = this.subs.get(id)
    if (!sub) return notFound()
    if (sub.config.type !== 'pull-wake') return fail(400, 'INVALID_REQUEST', 'claim is for pull-wake subscriptions')
    if (sub.holder !== null) {
      return fail(409, 'ALREADY_CLAIMED', 'another worker holds the lease', {
        current_holder: sub.holder,
        generation: sub.generation,
      })
    }
    const pending = pendingInfos(this.deps.access, sub)
    if (pending.length === 0) {
      if (sub.wakeId !== null) clearWake(sub)
      this.save(sub)
      return fail(409, 'NO_PENDING_WORK', 'no linked stream has unacknowledged data')
    }
    const wakeId = claimWake(sub, worker, pending, this.deps.now())
    this.save(sub)
    const { generation } = sub
    const token = await this.issueToken(sub, wakeId, generation)
    if (this.subs.get(id) !== sub || sub.wakeId !== wakeId || sub.holder !== worker) {
      return fail(409, 'FENCED', 'the claim was superseded before it completed')
    }
    return {
      status: 200,
      body: { wake_id: wakeId, generation, token, streams: pending, lease_ttl_ms: sub.config.leaseTtlMs },
    }
  }

  /** Webhook callback (`type: webhook`) or pull-wake ack (`type: pull-wake`). */
  async ack(id: string, type: SubscriptionType, token: string | null, req: WakeRequest): Promise<Outcome> {
    const auth = await this.authorize(id, type, token, req)
    if ('status' in auth) return auth
    const { sub } = auth
    const bad = applyAcks(this.deps.access, sub, req.acks, (links) => this.deps.repo.saveLinks(sub.id, links))
    if (bad) return bad
    if (req.done) return { status: 200, body: { ok: true, next_wake: this.finishWake(sub) } }
    sub.leaseExpiresAt = this.deps.now() + sub.config.leaseTtlMs
    this.save(sub)
    return { status: 200, body: { ok: true, next_wake: false } }
  }

  async release(id: string, token: string | null, req: WakeRequest): Promise<Outcome> {
    const auth = await this.authorize(id, 'pull-wake', token, req)
    if ('status' in auth) return auth
    this.finishWake(auth.sub)
    return { status: 204 }
  }

  // ---- store events ------------------------------------------------------------------------

  onCreated(path: string, startOffset?: string): void {
    this.guard(() => {
      for (const sub of this.subs.values()) {
        const link = relinkCreatedStream(this.deps.access, sub, path, startOffset ?? BEFORE_FIRST)
        if (!link) continue
        this.deps.repo.saveLinks(sub.id, [link])
        this.maybeWake(sub)
      }
    })
  }

  onAppended(path: string, tailOffset: string): void {
    this.guard(() => {
      for (const sub of this.subs.values()) {
        let link = sub.links.get(path)
        if (!link) {
          if (!matchesPattern(sub, path)) continue
          // Not seen before this append: link before it, so the append itself is pending.
          link = linkNewStream(sub, path, BEFORE_FIRST)
          this.deps.repo.saveLinks(sub.id, [link])
        }
        if (isIdle(sub) && compareOffsets(tailOffset, link.ackedOffset) > 0) this.startWake(sub)
      }
    })
  }

  onClosed(path: string): void {
    this.guard(() => {
      for (const sub of this.subs.values()) if (sub.links.has(path)) this.maybeWake(sub)
    })
  }

  onDeleted(path: string): void {
    this.guard(() => {
      for (const sub of this.subs.values()) {
        if (sub.config.wakeStream === path) this.deps.log.warn(`subscription ${sub.id}: its wake_stream ${path} was deleted`)
        if (!sub.links.has(path)) continue
        if (unlinkDeletedStream(sub, path)) this.deps.repo.deleteLinks(sub.id, [path])
        else this.deps.repo.saveLinks(sub.id, [sub.links.get(path)!])
      }
    })
  }

  // ---- wakes -------------------------------------------------------------------------------

  private maybeWake(sub: Subscription): void {
    if (this.closed || !isIdle(sub)) return
    if (pendingInfos(this.deps.access, sub).length > 0) this.startWake(sub)
  }

  private startWake(sub: Subscription): void {
    const pending = pendingInfos(this.deps.access, sub)
    const wakeId = beginWake(sub, pending)
    if (sub.config.type === 'webhook') {
      // Webhook lease starts when the wake is issued.
      sub.leaseExpiresAt = this.deps.now() + sub.config.leaseTtlMs
      this.save(sub)
      void this.deliver(sub, wakeId, sub.generation, pending).catch((err) =>
        this.deps.log.warn({ err }, `subscription ${sub.id}: webhook wake failed`),
      )
    } else {
      // Pull-wake lease starts at claim.
      sub.leaseExpiresAt = null
      this.save(sub)
      const event = { subscription_id: sub.id, stream: pending[0]?.path ?? null, generation: sub.generation, ts: this.deps.now() }
      void appendWakeEvent(this.deps.access, this.deps.log, event, sub.config.wakeStream!)
    }
  }

  /** Ends the current wake normally; starts the next one if work remains. */
  private finishWake(sub: Subscription): boolean {
    settleWake(sub)
    const next = pendingInfos(this.deps.access, sub).length > 0
    if (next) this.startWake(sub)
    else this.save(sub)
    return next
  }

  /** A webhook wake failed (error status, network error, timeout, or lease lapse): back off. */
  private failWake(sub: Subscription): void {
    backOff(sub, this.deps.now(), this.deps.random)
    this.save(sub)
  }

  private onDeadline(sub: Subscription): void {
    if (this.closed || this.subs.get(sub.id) !== sub) return
    if (sub.wakeId !== null) {
      if (sub.leaseExpiresAt === null) return
      if (sub.config.type === 'webhook') {
        const inFlight = this.deliveries.get(sub.id)
        // Aborting makes deliver() record the failure; otherwise the receiver went quiet.
        if (inFlight && inFlight.wakeId === sub.wakeId) inFlight.abort.abort(new Error('lease expired'))
        else this.failWake(sub)
      } else {
        clearWake(sub)
        if (pendingInfos(this.deps.access, sub).length > 0) this.startWake(sub)
        else this.save(sub)
      }
      return
    }
    if (sub.nextAttemptAt !== null) {
      sub.nextAttemptAt = null
      if (pendingInfos(this.deps.access, sub).length > 0) this.startWake(sub)
      else {
        sub.status = 'active'
        sub.retryCount = 0
        this.save(sub)
      }
    }
  }

  private async deliver(sub: Subscription, wakeId: string, generation: number, streams: StreamInfo[]): Promise<void> {
    const { deps } = this
    const isCurrent = () => !this.closed && this.subs.get(sub.id) === sub && sub.wakeId === wakeId
    const url = sub.config.webhookUrl
    if (url === null) return
    const token = await this.issueToken(sub, wakeId, generation)
    if (!isCurrent()) return
    const result = await sendWebhook({
      post: deps.post,
      signer: deps.signer,
      now: deps.now,
      timeoutMs: deps.webhookTimeoutMs,
      url,
      payload: { subscription_id: sub.id, wake_id: wakeId, generation, streams, callback_url: sub.callbackUrl, callback_token: token },
      track: (abort) => {
        this.deliveries.set(sub.id, { wakeId, abort })
        return () => {
          if (this.deliveries.get(sub.id)?.abort === abort) this.deliveries.delete(sub.id)
        }
      },
    })
    // A callback, lease lapse or delete may have moved on while the POST was in flight.
    if (!isCurrent()) return
    if (!result.ok) {
      deps.log.warn({ detail: result.detail }, `subscription ${sub.id}: ${result.reason}`)
      this.failWake(sub)
      return
    }
    sub.status = 'active'
    sub.retryCount = 0
    if (!result.done) {
      this.save(sub)
      return
    }
    // Synchronous completion: ack exactly what this wake offered, then look again.
    deps.repo.saveLinks(sub.id, ackSnapshot(sub))
    this.finishWake(sub)
  }

  // ---- helpers -----------------------------------------------------------------------------

  private async authorize(
    id: string,
    type: SubscriptionType,
    token: string | null,
    req: WakeRequest,
  ): Promise<{ sub: Subscription } | Outcome> {
    const sub = this.subs.get(id)
    if (!sub) return notFound()
    if (sub.config.type !== type) {
      const route = type === 'webhook' ? 'callback' : 'ack/release'
      return fail(400, 'INVALID_REQUEST', `${route} is not available for ${sub.config.type} subscriptions`)
    }
    if (token === null) return fail(401, 'TOKEN_INVALID', 'missing Authorization: Bearer <token>')
    const check = await this.deps.tokens.verify(token, this.deps.now())
    // Deleted while the token was being checked: nothing may move.
    if (this.subs.get(id) !== sub) return notFound()
    if (!check.ok) return fail(401, check.code, check.code === 'TOKEN_EXPIRED' ? 'token expired' : 'token invalid')
    return fenceCheck(sub, type, check.claims, req) ?? { sub }
  }

  private issueToken(sub: Subscription, wakeId: string, generation: number): Promise<string> {
    return this.deps.tokens.issue({ subscriptionId: sub.id, incarnation: sub.incarnation, generation, wakeId }, this.deps.now())
  }

  private save(sub: Subscription): void {
    if (this.subs.get(sub.id) !== sub) return
    this.deps.repo.saveState(sub)
    this.arm(sub)
  }

  private arm(sub: Subscription): void {
    const at = sub.wakeId !== null ? sub.leaseExpiresAt : sub.nextAttemptAt
    if (at === null) this.deadlines.clear(sub.id)
    else this.deadlines.set(sub.id, at - this.deps.now(), () => this.guard(() => this.onDeadline(sub)))
  }

  /** Store listeners must never throw into the commit path. */
  private guard(fn: () => void): void {
    if (this.closed) return
    try {
      fn()
    } catch (err) {
      this.deps.log.warn({ err }, 'subscriptions: internal error')
    }
  }
}
