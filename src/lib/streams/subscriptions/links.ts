/** Cursor bookkeeping on one subscription's stream links (PROTOCOL.md 6.1, 6.4, 7). */
import type { StreamSnapshot } from '../seams'
import { BEFORE_FIRST, checkStreamPath, compareOffsets, globMatch } from './paths'
import { fail, linkType, type Outcome, type StreamInfo, type StreamLink, type Subscription, type SubscriptionConfig } from './types'

export function newSubscription(
  id: string,
  incarnation: string,
  config: SubscriptionConfig,
  configHash: string,
  urls: { callbackUrl: string; jwksUrl: string },
  nowMs: number,
): Subscription {
  return {
    id,
    incarnation,
    config,
    configHash,
    createdAt: new Date(nowMs).toISOString(),
    callbackUrl: urls.callbackUrl,
    jwksUrl: urls.jwksUrl,
    status: 'active',
    generation: 0,
    wakeId: null,
    wakeSnapshot: null,
    holder: null,
    leaseExpiresAt: null,
    retryCount: 0,
    nextAttemptAt: null,
    links: new Map(),
  }
}

/** At creation, explicit and matching existing streams join at their tail: no history replay. */
export function linkInitialStreams(access: StreamSnapshot, sub: Subscription): void {
  for (const path of sub.config.streams) {
    sub.links.set(path, { path, explicit: true, glob: matchesPattern(sub, path), ackedOffset: tailOf(access, path) })
  }
  if (sub.config.pattern === null) return
  for (const path of access.listPaths()) {
    if (!sub.links.has(path) && matchesPattern(sub, path)) linkNewStream(sub, path, tailOf(access, path))
  }
}

/** Tail of a live stream, or `-1` when it does not exist (nothing to read yet). */
export function tailOf(access: StreamSnapshot, path: string): string {
  return access.describe(path)?.tailOffset ?? BEFORE_FIRST
}

/** Does the subscription's pattern cover `path`? Its own wake stream never counts. */
export function matchesPattern(sub: Subscription, path: string): boolean {
  const { pattern, wakeStream } = sub.config
  return pattern !== null && path !== wakeStream && globMatch(pattern, path)
}

export function linkNewStream(sub: Subscription, path: string, ackedOffset: string): StreamLink {
  const link: StreamLink = { path, explicit: false, glob: true, ackedOffset }
  sub.links.set(path, link)
  return link
}

/**
 * A stream was just created. Links it if the pattern matches, and starts an existing
 * (explicit, or stale) link afresh when its cursor cannot belong to this new stream.
 * Returns the changed link, or null if the subscription does not care.
 */
export function relinkCreatedStream(access: StreamSnapshot, sub: Subscription, path: string, startOffset: string): StreamLink | null {
  const matches = matchesPattern(sub, path)
  const link = sub.links.get(path)
  if (!link) return matches ? linkNewStream(sub, path, startOffset) : null
  if (matches) link.glob = true
  const tail = tailOf(access, path)
  // `-1` (never had data) or a cursor past the new tail (left over from a deleted namesake).
  if (link.ackedOffset === BEFORE_FIRST || compareOffsets(link.ackedOffset, tail) > 0) link.ackedOffset = startOffset
  return link
}

/**
 * The stream is gone. Glob-only links go; explicit links stay (membership is the client's
 * choice) but restart from the beginning, since a re-created stream starts afresh.
 * Returns true if the link was removed.
 */
export function unlinkDeletedStream(sub: Subscription, path: string): boolean {
  const link = sub.links.get(path)
  if (!link) return false
  if (!link.explicit) {
    sub.links.delete(path)
    return true
  }
  link.glob = false
  link.ackedOffset = BEFORE_FIRST
  return false
}

/**
 * After a restart: links whose stream vanished are dropped (glob) or restarted (explicit);
 * matching live streams without a link (created in the crash window between commit and
 * listener) are linked at `-1`, so nothing acknowledged to their writers is skipped.
 */
export function repairLinks(access: StreamSnapshot, sub: Subscription, livePaths: string[]): { removed: string[]; changed: StreamLink[] } {
  const removed: string[] = []
  const changed: StreamLink[] = []
  for (const link of [...sub.links.values()]) {
    if (access.describe(link.path) !== null) continue
    if (unlinkDeletedStream(sub, link.path)) removed.push(link.path)
    else changed.push(link)
  }
  for (const path of livePaths) {
    if (!sub.links.has(path) && matchesPattern(sub, path)) changed.push(linkNewStream(sub, path, BEFORE_FIRST))
  }
  return { removed, changed }
}

export function streamInfos(access: StreamSnapshot, sub: Subscription): StreamInfo[] {
  return [...sub.links.values()]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((link) => {
      const tail = tailOf(access, link.path)
      return {
        path: link.path,
        link_type: linkType(link),
        acked_offset: link.ackedOffset,
        tail_offset: tail,
        has_pending: compareOffsets(tail, link.ackedOffset) > 0,
      }
    })
}

/** Streams with data past their cursor: what a wake offers (and `done` acks). */
export function pendingInfos(access: StreamSnapshot, sub: Subscription): StreamInfo[] {
  return streamInfos(access, sub).filter((s) => s.has_pending)
}

/**
 * Validates every ack before applying any (all or nothing). Acks are inclusive, may not move
 * a cursor backwards or past the tail. An ack for a stream this wake offered that has since
 * been deleted is ignored rather than failing the whole request.
 */
export function applyAcks(
  access: StreamSnapshot,
  sub: Subscription,
  acks: { stream: string; offset: string }[],
  persist: (links: StreamLink[]) => void,
): Outcome | null {
  const updates: { link: StreamLink; offset: string }[] = []
  for (const ack of acks) {
    const checked = checkStreamPath(ack.stream)
    if ('error' in checked) return fail(400, 'INVALID_REQUEST', `acks: ${checked.error}`)
    const path = checked.path
    const link = sub.links.get(path)
    const tail = tailOf(access, path)
    const offered = sub.wakeSnapshot !== null && path in sub.wakeSnapshot
    if ((!link || tail === BEFORE_FIRST) && offered) continue
    if (!link) return fail(409, 'INVALID_OFFSET', `stream ${path} is not linked to this subscription`)
    if (ack.offset === BEFORE_FIRST) return fail(409, 'INVALID_OFFSET', 'ack offset must be a real offset, not -1')
    if (compareOffsets(ack.offset, link.ackedOffset) < 0) {
      return fail(409, 'INVALID_OFFSET', `ack for ${path} would move its cursor backwards`)
    }
    if (compareOffsets(ack.offset, tail) > 0) return fail(409, 'INVALID_OFFSET', `ack for ${path} is beyond its tail`)
    updates.push({ link, offset: ack.offset })
  }
  const changed: StreamLink[] = []
  for (const { link, offset } of updates) {
    if (compareOffsets(offset, link.ackedOffset) > 0) {
      link.ackedOffset = offset
      changed.push(link)
    }
  }
  persist(changed)
  return null
}
