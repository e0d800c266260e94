/**
 * The subscription engine (PROTOCOL.md sections 6-7): the control API, store events, and the
 * scheduling around each wake (leases, webhook deliveries and retries). The wake's transitions
 * themselves are wake-state.ts. Each operation runs through a `SubscriptionHost` (host.ts), which
 * hands it the current subscriptions and a synchronous view of the streams, one operation at a
 * time, and keeps its changes: in memory and SQLite on one node, or in a PostgreSQL transaction
 * shared by several nodes.
 *
 * One deadline per subscription drives time: the lease while a wake is in flight, otherwise
 * the next webhook attempt while backing off. Every node arms it from what it last saw; a
 * deadline that fires checks the current state, so an early or stale timer does nothing.
 */
import type { StreamLifecycleListener } from '../seams'
import type { WakeRequest } from './subscription-config'
import type { SubscriptionTx } from './host'
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
import { BEFORE_FIRST, checkStreamPath, compareOffsets } from './paths'
import type { WakeClaims, WakeTokens } from './signing'
import { fail, type Outcome, type Subscription, type SubscriptionConfig, type SubscriptionType } from './types'
import { claimWake, clearWake, fenceCheck, isIdle, newId, notFound } from './wake-state'
import { WakeScheduler, type EngineDeps } from './wakes'

export type { EngineDeps } from './wakes'

export class SubscriptionEngine implements Required<StreamLifecycleListener> {
  private readonly wakes: WakeScheduler
  private closed = false

  constructor(private readonly deps: EngineDeps) {
    this.wakes = new WakeScheduler(deps)
    deps.host.onRemoteChange(() => this.wakes.background(this.refresh(false)))
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /**
   * Re-arms every timer and wakes what has pending work. At start (`repair`) it also mends
   * links the store no longer agrees with (streams created or deleted while no node listened);
   * without it, after another node's change this node may have skipped an append for.
   */
  refresh(repair: boolean): Promise<void> {
    return this.deps.host.run({ all: repair }, (tx) => {
      const livePaths = repair ? tx.streams.listPaths() : null
      for (const sub of tx.subs.values()) {
        if (livePaths) {
          const { removed, changed } = repairLinks(tx.streams, sub, livePaths)
          if (removed.length > 0) tx.repo.deleteLinks(sub.id, removed)
          if (changed.length > 0) tx.repo.saveLinks(sub.id, changed)
        }
        this.wakes.arm(sub)
      }
      for (const sub of tx.subs.values()) this.wakes.maybeWake(tx, sub)
    })
  }

  close(): void {
    this.closed = true
    this.wakes.close()
  }

  // ---- control API -------------------------------------------------------------------------

  get(id: string): Promise<Subscription | undefined> {
    return this.deps.host.run({}, (tx) => tx.subs.get(id))
  }

  /** Creates the subscription, or reports whether an existing one has the same config hash. */
  put(
    id: string,
    config: SubscriptionConfig,
    hash: string,
    urls: { callbackUrl: string; jwksUrl: string },
  ): Promise<{ sub: Subscription; created: boolean } | { conflict: true }> {
    return this.deps.host.run({ paths: config.streams, all: config.pattern !== null }, (tx) => {
      const existing = tx.subs.get(id)
      if (existing) return existing.configHash === hash ? { sub: existing, created: false } : { conflict: true as const }
      const sub = newSubscription(id, newId('', 9), config, hash, urls, this.deps.now())
      linkInitialStreams(tx.streams, sub)
      tx.subs.set(id, sub)
      tx.repo.saveAll(sub)
      return { sub, created: true }
    })
  }

  remove(id: string): Promise<void> {
    return this.deps.host.run({}, (tx) => {
      if (!tx.subs.delete(id)) return
      tx.repo.deleteSubscription(id)
      tx.after(() => this.wakes.forget(id))
    })
  }

  addStreams(id: string, paths: string[]): Promise<Outcome> {
    return this.deps.host.run({ paths }, (tx) => {
      const sub = tx.subs.get(id)
      if (!sub) return notFound()
      if (sub.config.wakeStream !== null && paths.includes(sub.config.wakeStream)) {
        return fail(400, 'INVALID_REQUEST', 'a subscription cannot link its own wake_stream')
      }
      const changed = []
      for (const path of paths) {
        const link = sub.links.get(path)
        if (link?.explicit) continue
        if (link) link.explicit = true
        else sub.links.set(path, { path, explicit: true, glob: false, ackedOffset: tailOf(tx.streams, path) })
        changed.push(sub.links.get(path)!)
      }
      tx.repo.saveLinks(id, changed)
      return { status: 204 }
    })
  }

  removeStream(id: string, path: string): Promise<Outcome> {
    return this.deps.host.run({ paths: [path] }, (tx) => {
      const sub = tx.subs.get(id)
      if (!sub) return notFound()
      const link = sub.links.get(path)
      if (!link?.explicit) return { status: 204 }
      link.explicit = false
      // The glob link survives if the pattern still matches a live stream.
      link.glob = matchesPattern(sub, path) && tx.streams.describe(path) !== null
      if (link.glob) tx.repo.saveLinks(id, [link])
      else {
        sub.links.delete(path)
        tx.repo.deleteLinks(id, [path])
      }
      return { status: 204 }
    })
  }

  claim(id: string, worker: string): Promise<Outcome> {
    return this.deps.host.run({}, async (tx) => {
      const sub = tx.subs.get(id)
      if (!sub) return notFound()
      if (sub.config.type !== 'pull-wake') return fail(400, 'INVALID_REQUEST', 'claim is for pull-wake subscriptions')
      if (sub.holder !== null) {
        return fail(409, 'ALREADY_CLAIMED', 'another worker holds the lease', {
          current_holder: sub.holder,
          generation: sub.generation,
        })
      }
      const pending = pendingInfos(tx.streams, sub)
      if (pending.length === 0) {
        if (sub.wakeId !== null) clearWake(sub)
        this.wakes.save(tx, sub)
        return fail(409, 'NO_PENDING_WORK', 'no linked stream has unacknowledged data')
      }
      const wakeId = claimWake(sub, worker, pending, this.deps.now())
      this.wakes.save(tx, sub)
      const { generation } = sub
      const token = await this.wakes.issueToken(sub, wakeId, generation)
      return {
        status: 200,
        body: { wake_id: wakeId, generation, token, streams: pending, lease_ttl_ms: sub.config.leaseTtlMs },
      }
    })
  }

  /** Webhook callback (`type: webhook`) or pull-wake ack (`type: pull-wake`). */
  async ack(id: string, type: SubscriptionType, token: string | null, req: WakeRequest): Promise<Outcome> {
    const check = token === null ? null : await this.deps.tokens.verify(token, this.deps.now())
    const paths = req.acks.flatMap((a) => {
      const checked = checkStreamPath(a.stream)
      return 'error' in checked ? [] : [checked.path]
    })
    return this.deps.host.run({ paths }, (tx) => {
      const auth = this.authorize(tx, id, type, check)
      if (!('sub' in auth)) return auth
      const { sub } = auth
      const authFence = fenceCheck(sub, type, auth.claims, req)
      if (authFence) return authFence
      const bad = applyAcks(tx.streams, sub, req.acks, (links) => tx.repo.saveLinks(sub.id, links))
      if (bad) return bad
      if (req.done) return { status: 200, body: { ok: true, next_wake: this.wakes.finishWake(tx, sub) } }
      sub.leaseExpiresAt = this.deps.now() + sub.config.leaseTtlMs
      this.wakes.save(tx, sub)
      return { status: 200, body: { ok: true, next_wake: false } }
    })
  }

  async release(id: string, token: string | null, req: WakeRequest): Promise<Outcome> {
    const check = token === null ? null : await this.deps.tokens.verify(token, this.deps.now())
    return this.deps.host.run({}, (tx) => {
      const auth = this.authorize(tx, id, 'pull-wake', check)
      if (!('sub' in auth)) return auth
      const fenced = fenceCheck(auth.sub, 'pull-wake', auth.claims, req)
      if (fenced) return fenced
      this.wakes.finishWake(tx, auth.sub)
      return { status: 204 }
    })
  }

  // ---- store events ------------------------------------------------------------------------
  // Each runs only when some subscription (as last seen here) cares about the path, so a node
  // with no subscriptions pays nothing per append.

  onCreated(path: string, startOffset?: string): void {
    if (!this.cares((sub) => sub.links.has(path) || matchesPattern(sub, path))) return
    this.wakes.background(
      this.deps.host.run({ paths: [path] }, (tx) => {
        for (const sub of tx.subs.values()) {
          const link = relinkCreatedStream(tx.streams, sub, path, startOffset ?? BEFORE_FIRST)
          if (!link) continue
          tx.repo.saveLinks(sub.id, [link])
          this.wakes.maybeWake(tx, sub)
        }
      }),
    )
  }

  onAppended(path: string, tailOffset: string): void {
    if (!this.cares((sub) => sub.links.has(path) || matchesPattern(sub, path))) return
    this.wakes.background(
      this.deps.host.run({ paths: [path] }, (tx) => {
        for (const sub of tx.subs.values()) {
          let link = sub.links.get(path)
          if (!link) {
            if (!matchesPattern(sub, path)) continue
            // Not seen before this append: link before it, so the append itself is pending.
            link = linkNewStream(sub, path, BEFORE_FIRST)
            tx.repo.saveLinks(sub.id, [link])
          }
          if (isIdle(sub) && compareOffsets(tailOffset, link.ackedOffset) > 0) this.wakes.startWake(tx, sub)
        }
      }),
    )
  }

  onClosed(path: string): void {
    if (!this.cares((sub) => sub.links.has(path))) return
    this.wakes.background(
      this.deps.host.run({ paths: [path] }, (tx) => {
        for (const sub of tx.subs.values()) if (sub.links.has(path)) this.wakes.maybeWake(tx, sub)
      }),
    )
  }

  onDeleted(path: string): void {
    if (!this.cares((sub) => sub.links.has(path) || sub.config.wakeStream === path)) return
    this.wakes.background(
      this.deps.host.run({ paths: [path] }, (tx) => {
        for (const sub of tx.subs.values()) {
          if (sub.config.wakeStream === path) this.deps.log.warn(`subscription ${sub.id}: its wake_stream ${path} was deleted`)
          if (!sub.links.has(path)) continue
          if (unlinkDeletedStream(sub, path)) tx.repo.deleteLinks(sub.id, [path])
          else tx.repo.saveLinks(sub.id, [sub.links.get(path)!])
        }
      }),
    )
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** The subscription and its verified token claims, or why the request may not act on it. */
  private authorize(
    tx: SubscriptionTx,
    id: string,
    type: SubscriptionType,
    check: Awaited<ReturnType<WakeTokens['verify']>> | null,
  ): { sub: Subscription; claims: WakeClaims } | Outcome {
    const sub = tx.subs.get(id)
    if (!sub) return notFound()
    if (sub.config.type !== type) {
      const route = type === 'webhook' ? 'callback' : 'ack/release'
      return fail(400, 'INVALID_REQUEST', `${route} is not available for ${sub.config.type} subscriptions`)
    }
    if (check === null) return fail(401, 'TOKEN_INVALID', 'missing Authorization: Bearer <token>')
    if (!check.ok) return fail(401, check.code, check.code === 'TOKEN_EXPIRED' ? 'token expired' : 'token invalid')
    return { sub, claims: check.claims }
  }

  private cares(test: (sub: Subscription) => boolean): boolean {
    if (this.closed) return false
    // Another node's change is heard but not loaded: the cache may miss the subscription that
    // cares, and the refresh loading it may have looked at the streams before this event.
    if (this.deps.host.stale?.()) return true
    for (const sub of this.deps.host.cached().values()) if (test(sub)) return true
    return false
  }
}
