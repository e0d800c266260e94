/**
 * Issue #12's lifecycle webhooks and audit log, wired for tether-server.ts in one object so the
 * composition root only wraps what it already builds: the worker callbacks (lifecycle events),
 * the sessions API, the login exchange and the model gateway (audit entries, quota.exceeded), and
 * routes /api/webhooks/** and /api/audit here.
 */
import type { Logger } from '../common/logger'
import type { ModelGateway } from '../gateway'
import type { Authenticator } from '../sessions/auth'
import type { StreamsEndpoint } from '../sessions/streams-client'
import type { SessionWorkerCallbacks } from '../sessions/worker-callbacks'
import { nodeWebhookPoster, type WebhookPoster } from '../streams/subscriptions/deliver'
import type { WebhookSigner } from '../streams/subscriptions/signing'
import { AUDIT_PATH, AuditLog } from './audit'
import { auditSessions, auditSignIn } from './audit-observe'
import { LifecycleLog, lifecycleHooks } from './lifecycle'
import { createWebhooksApi, WEBHOOKS_PATH } from './webhooks-api'
import { WebhookDispatcher, type DispatcherOptions } from './webhooks-delivery'
import type { WebhookStore } from './webhooks-store'

export interface OperationsOptions {
  /** Webhook endpoints (either engine), and the key that signs their deliveries (the subscriptions' Ed25519 key). */
  webhooks: WebhookStore
  signer: WebhookSigner
  streams: StreamsEndpoint
  auth: Authenticator
  now: () => number
  logger: Logger
  allowLoopbackWebhooks?: boolean
  /** Stream-TTL of `__tether/audit` in days (0: the streams' default retention). */
  auditRetentionDays?: number
  /** Tests: another poster, attempt timeout, retry schedule. */
  delivery?: Partial<Pick<DispatcherOptions, 'timeoutMs' | 'maxAttempts' | 'retryDelay'>> & { post?: WebhookPoster }
}

type Handler = (req: Request) => Promise<Response>

export interface Operations {
  lifecycle: LifecycleLog
  audit: AuditLog
  dispatcher: WebhookDispatcher
  /** The manager's callbacks, with lifecycle events recorded first. */
  hooks(inner: SessionWorkerCallbacks): SessionWorkerCallbacks
  auditSessions(handler: Handler): Handler
  auditSignIn(handler: Handler): Handler
  /** The gateway, reporting its 402 refusals as `quota.exceeded`. */
  watchQuota(gateway: ModelGateway): ModelGateway
  /** True for the paths `handle` serves. */
  owns(pathname: string): boolean
  handle: Handler
  close(): void
}

export function createOperations(opts: OperationsOptions): Operations {
  const log = opts.logger.child({ component: 'operations' })
  const lifecycle = new LifecycleLog(opts.streams, opts.now, log)
  const audit = new AuditLog(opts.streams, opts.auditRetentionDays ?? 365, opts.now, log)
  const { webhooks: store, signer } = opts
  const allowLoopback = opts.allowLoopbackWebhooks ?? false
  const { post, ...delivery } = opts.delivery ?? {}
  const dispatcher = new WebhookDispatcher({
    store,
    streams: opts.streams,
    lifecycle,
    signer,
    post: post ?? nodeWebhookPoster({ allowLoopback }),
    now: opts.now,
    logger: log,
    ...delivery,
  })
  lifecycle.start().catch((err: unknown) => log.error({ err }, 'could not create the lifecycle stream'))
  const webhooks = createWebhooksApi({ auth: opts.auth, store, dispatcher, lifecycle, streams: opts.streams, signer, audit, allowLoopback })
  const auditApi = audit.handler(opts.auth)

  return {
    lifecycle,
    audit,
    dispatcher,
    hooks: (inner) => lifecycleHooks(inner, lifecycle),
    auditSessions: (handler) => auditSessions(handler, audit, opts.auth),
    auditSignIn: (handler) => auditSignIn(handler, audit),
    watchQuota: (gateway) => async (req, claims, sessionId) => {
      const res = await gateway(req, claims, sessionId)
      if (res.status === 402) {
        const body = (await res
          .clone()
          .json()
          .catch(() => ({}))) as Record<string, unknown>
        const { reason, spentUsd, estimateUsd, budgetUsd } = body
        await lifecycle.record('quota.exceeded', sessionId, { reason: reason ?? 'budget', spentUsd, estimateUsd, budgetUsd })
      }
      return res
    },
    owns: (p) => p === AUDIT_PATH || p === WEBHOOKS_PATH || p.startsWith(`${WEBHOOKS_PATH}/`),
    handle: (req) => (new URL(req.url).pathname === AUDIT_PATH ? auditApi(req) : webhooks(req)),
    close: () => dispatcher.close(),
  }
}
