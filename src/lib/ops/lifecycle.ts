/**
 * Lifecycle events (specs/operations.md, Lifecycle webhooks): what happened to sessions and
 * workers, appended to the admin-only stream `__tether/lifecycle` BEFORE anyone is told, so
 * webhook deliveries (webhooks-delivery.ts) read them from a durable log and a crash between the
 * event and its delivery only delays it. The session manager is untouched: `lifecycleHooks`
 * wraps its worker callbacks (the places it already reports created / idle / resumed / ended).
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from '../common/logger'
import type { SessionWorkerCallbacks } from '../sessions/worker-callbacks'
import type { EndReason, SessionRecord } from '../sessions/session-types'
import { appendJson, createJsonStream, type StreamsEndpoint } from '../sessions/streams-client'

export const LIFECYCLE_STREAM = '__tether/lifecycle'

export const LIFECYCLE_EVENT_TYPES = [
  'session.created',
  'session.idle',
  'session.resumed',
  'session.ended',
  'worker.crashed',
  'quota.exceeded',
] as const
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number]

export const END_REASONS = ['completed', 'idle', 'lifetime', 'budget', 'turns', 'terminated', 'failed'] as const
export type LifecycleEndReason = (typeof END_REASONS)[number]

/** One event as stored and as POSTed to receivers. `id` is the receivers' dedupe key. */
export interface LifecycleEvent {
  id: string
  type: LifecycleEventType
  /** Epoch ms when it happened. */
  time: number
  sessionId: string | null
  data: Record<string, unknown>
}

/** The manager's EndReason ('limit:budget', 'stream-closed', 'deleted', …) as one of END_REASONS. */
export function lifecycleEndReason(status: string, reason: EndReason): LifecycleEndReason {
  const limit = /^limit:(idle|lifetime|budget|turns)$/.exec(reason)
  if (limit) return limit[1] as LifecycleEndReason
  if (status === 'failed') return 'failed'
  if (status === 'completed') return 'completed'
  return 'terminated'
}

const sessionData = (s: SessionRecord) => ({ pattern: s.pattern, status: s.status, title: s.title, createdBy: s.createdBy })

export class LifecycleLog {
  private readonly listeners = new Set<() => void>()
  private ready: Promise<void> | null = null

  constructor(
    private readonly endpoint: StreamsEndpoint,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** Creates the stream (idempotent); no TTL: cursors point into it for as long as endpoints exist. */
  start(): Promise<void> {
    this.ready ??= createJsonStream(this.endpoint, LIFECYCLE_STREAM)
    return this.ready
  }

  /** Called after every durable append (the delivery loop wakes up). */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Appends one event and resolves once it is durable. Never throws: a lifecycle event must not
   * fail the session operation that caused it (the failure is logged).
   */
  async record(type: LifecycleEventType, sessionId: string | null, data: Record<string, unknown>): Promise<LifecycleEvent | null> {
    const event: LifecycleEvent = { id: `evt_${randomBytes(12).toString('base64url')}`, type, time: this.now(), sessionId, data }
    try {
      await this.start()
      await appendJson(this.endpoint, LIFECYCLE_STREAM, [event])
    } catch (err) {
      this.ready = null
      this.logger.error({ err, type, sessionId }, 'could not record a lifecycle event')
      return null
    }
    for (const listener of this.listeners) listener()
    return event
  }
}

/**
 * The manager's callbacks with each lifecycle event recorded first (durable), then the inner
 * callback (the worker supervisor) as before.
 */
export function lifecycleHooks(inner: SessionWorkerCallbacks, log: LifecycleLog): SessionWorkerCallbacks {
  const own: SessionWorkerCallbacks = {
    async onSessionCreated(s) {
      await log.record('session.created', s.id, sessionData(s))
      await inner.onSessionCreated?.(s)
    },
    async onSessionSuspended(s) {
      await log.record('session.idle', s.id, sessionData(s))
      await inner.onSessionSuspended?.(s)
    },
    async onSessionResumed(s) {
      await log.record('session.resumed', s.id, sessionData(s))
      await inner.onSessionResumed?.(s)
    },
    async onSessionEnded(s, reason) {
      await log.record('session.ended', s.id, { ...sessionData(s), reason: lifecycleEndReason(s.status, reason), detail: reason })
      await inner.onSessionEnded?.(s, reason)
    },
  }
  // Everything else is the inner object's own member, called on the inner object (a supervisor
  // keeps state on `this`; a wrapper as `this` would shadow it).
  return new Proxy(inner, {
    get(target, key) {
      if (typeof key === 'string' && key in own) return own[key as keyof SessionWorkerCallbacks]
      const value: unknown = Reflect.get(target, key)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
