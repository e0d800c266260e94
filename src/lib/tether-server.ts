/**
 * The Tether server's composition root, one fetch handler: the Durable Streams protocol at /api/streams/* (built-in
 * SQLite server, or an external server when TETHER_STREAMS_URL is set) behind token auth, the
 * session event writer at POST /api/streams?sessionId=…, the sessions API at /api/sessions/**,
 * and the session monitor, over a backend (tether-backend.ts: one SQLite file, or PostgreSQL shared by
 * several nodes). Route files call `handleTetherRequest` (tether-server-entry.ts); module state lives
 * here because Start's code splitting would duplicate it in route files.
 */
import {
  NESTED_PROTOCOL_PATH,
  PREFLIGHT_HEADERS,
  PROTOCOL_ALIAS_PATH,
  SESSIONS_BASE_PATH,
  STREAMS_BASE_PATH,
  proxyTransport,
  withCors,
} from './protocol-mounts'
import { sessionStreamUrl } from './common/session-contract'
import pino, { type Logger } from 'pino'
import type { StreamsServer } from './streams'
import { directAppend } from './sessions/streams-direct'
import { readiness } from './ops/readiness'
import { DATABASE_RETRY_AFTER_S, databaseUnavailable } from './db/unavailable'
import { openSqliteBackend, type BackendConfig, type StorageSettings, type TetherBackend } from './tether-backend'
import { openPgBackend } from './tether-backend-pg'
import { DEFAULT_LIMITS } from './accounts/quotas-config'
import { createAppMetrics, type MetricsOptions } from './ops/metrics'
import { createAuthenticator, type Authenticator } from './sessions/auth'
import { createAccounts, DEFAULT_SIGN_IN_DAYS, type Accounts, type AccountsConfig } from './accounts'
import { createLimits, type LimitsConfig } from './accounts/quotas-wiring'
import {
  noopCallbacks,
  type SessionWorkerCallbacksInput,
  type WorkerCallbackContext,
} from './sessions/worker-callbacks'
import { HttpError, errorResponse, json } from './sessions/http'
import { SessionManager } from './sessions/manager'
import { SessionMonitor } from './sessions/monitor'
import { SessionCompaction } from './sessions/compaction/service'
import { createProtocolGate } from './sessions/protocol-gate'
import { gatewaySettings, type GatewayConfig, type SessionsConfig, type Settings } from './settings'
import {
  AUTH_EXCHANGE_PATH,
  createLoginExchange,
  type LoginCodeStore,
} from './sessions/login-links'
import { createSessionsApi } from './sessions/sessions-api'
import { SessionViews } from './sessions/session-views'
import { createOperations } from './ops/operations'
import { isLiveStatus } from './sessions/session-types'
import type { SessionStore } from './sessions/session-store'
import { createModelGateway, type Ledger, type ModelLedger } from './gateway'
import { fetchTransport, type StreamsEndpoint, type StreamsTransport } from './sessions/streams-client'
import type { IssueTokenOptions } from './sessions/tokens'
import { createWriter } from './sessions/event-writer'
import { hasHeartbeat, heartbeatAgents } from './workers/health'
import { monitorOwnership } from './workers/monitor-ownership'
import { requestLogFields } from './ops/request-context'
import { withRequestContext } from './ops/request-context-fetch'
import { inSpan } from './ops/tracing'
import { turnEventsAppended } from './ops/tracing-turns'

export { NESTED_PROTOCOL_PATH, PROTOCOL_ALIAS_PATH, SESSIONS_BASE_PATH, STREAMS_BASE_PATH } from './protocol-mounts'
/** Liveness probe; the production entry calls it once at start so the app boots eagerly. */
export const HEALTH_PATH = '/api/health'
/** Readiness: database writable, migrations done, workers' runtime reachable (src/lib/ops/readiness.ts). */
export const READY_PATH = '/api/ready'
/** Origin of in-process protocol requests (never leaves the process). */
const INTERNAL_ORIGIN = 'http://tether.internal'

export interface TetherServerConfig extends StorageSettings {
  /** Base URL workers use to reach this app (callback context), e.g. http://127.0.0.1:3000. */
  publicUrl?: string
  /**
   * This node's own address, for its workers when several nodes share the database: their
   * heartbeats and workspace copies must reach the node that runs them, not whichever node a
   * load balancer at `publicUrl` picks. Unset: `publicUrl`.
   */
  nodeUrl?: string
  sessions: SessionsConfig
  /** Model gateway: provider keys and prices (default: echo only, no keys). */
  gateway?: GatewayConfig
  /** Injectable clock (epoch ms) for the session layer. */
  now?: () => number
  logger?: Logger
  /** Level of the default logger (LOG_LEVEL; default info). */
  logLevel?: string
  /** GET /metrics (src/lib/ops/metrics.ts): on unless `enabled: false`; an optional scraper token. */
  metrics?: MetricsOptions
  /** Sign-in through identity providers (src/lib/accounts); absent or no provider: off. */
  accounts?: AccountsConfig
  /** Per-person quotas (with sign-in on) and request rate limits (default: no quotas, documented rates). */
  limits?: LimitsConfig
}

/** `L`: the ledger's type (SQLite's, from createTetherServer, answers synchronously). */
export interface TetherServer<L extends Ledger = Ledger> {
  fetch(req: Request): Promise<Response>
  close(): Promise<void>
  /** Resolves after start-up work (the first worker reconcile). */
  ready: Promise<void>
  manager: SessionManager
  store: SessionStore
  /** What each session spent on models, as the gateway counted it (src/lib/gateway). */
  ledger: L
  monitor: SessionMonitor
  /** Session stream compaction (off with an external streams server). */
  compaction: SessionCompaction
  /** The session views GET :id/view answers from, and their checkpoints. */
  views: SessionViews
  auth: Authenticator
  /** How the session layer reaches streams (in-process handler or external fetch). */
  endpoint: StreamsEndpoint
  /** The built-in SQLite streams server (null with an external backend or on PostgreSQL). */
  streams: StreamsServer | null
  /** Where the app keeps its data. */
  engine: TetherBackend['engine']
  issueToken(opts: IssueTokenOptions): Promise<string>
  /** One-time admin login codes (`<dataDir>/login-codes.json`, or a table on PostgreSQL), exchanged at /api/auth/exchange. */
  loginCodes: LoginCodeStore
  /** People, sign-in cookies, members and personal API keys (inert without a provider). */
  accounts: Accounts
  logger: Logger
}

/** Where this process listens, as a URL its own workers can use (a wildcard host means loopback). */
export function ownAddress(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host
  return `http://${reachable}:${port}`
}

/** The app's configuration from the settings front door (src/lib/settings). */
export function tetherConfigFrom(settings: Settings): TetherServerConfig {
  const { streams } = settings
  return {
    dataDir: streams.dataDir,
    ...(streams.databaseUrl ? { databaseUrl: streams.databaseUrl } : {}),
    durability: streams.durability,
    longPollTimeoutMs: streams.longPollTimeoutMs,
    maxBodyBytes: streams.maxBodyBytes,
    defaultRetentionMs: streams.defaultRetentionMs,
    allowLoopbackWebhooks: streams.allowLoopbackWebhooks,
    sseLimits: { maxBufferBytes: streams.sseMaxBufferBytes, slowGraceMs: streams.sseSlowGraceMs },
    publicUrl: settings.server.publicUrl,
    ...(streams.databaseUrl ? { nodeUrl: ownAddress(settings.server.host, settings.server.port) } : {}),
    sessions: settings.sessions,
    gateway: settings.gateway,
    logLevel: settings.logging.level,
    metrics: settings.metrics,
    accounts: settings.accounts,
    limits: settings.limits,
  }
}

/** The backend's part of the configuration (tether-backend.ts). */
function backendConfig(config: TetherServerConfig, now: () => number, logger: Logger): BackendConfig {
  const sc = config.sessions
  return {
    ...config,
    streamsUrl: sc.streamsUrl,
    secret: sc.secret,
    credentialsKey: sc.credentialsKey,
    quotaDefaults: (config.limits ?? DEFAULT_LIMITS).quotas,
    now,
    logger,
  }
}

/** Either engine: PostgreSQL when `databaseUrl` is set (several nodes on one database), else the SQLite file. */
export async function openTetherServer(config: TetherServerConfig, workers?: SessionWorkerCallbacksInput): Promise<TetherServer> {
  if (!config.databaseUrl) return createTetherServer(config, workers)
  const { logger, now } = parts(config)
  const backend = await openPgBackend({ ...backendConfig(config, now, logger), databaseUrl: config.databaseUrl })
  return composeTetherServer(backend, config, workers, { logger, now })
}

/** The embedded default, opened synchronously: one SQLite file. */
export function createTetherServer(config: TetherServerConfig, workers?: SessionWorkerCallbacksInput): TetherServer<ModelLedger> {
  if (config.databaseUrl) throw new Error('createTetherServer opens SQLite only; use openTetherServer for TETHER_DATABASE_URL')
  const { logger, now } = parts(config)
  return composeTetherServer(openSqliteBackend(backendConfig(config, now, logger)), config, workers, { logger, now })
}

function parts(config: TetherServerConfig): { logger: Logger; now: () => number } {
  // The mixin puts the request id on every line logged while a request is handled (ops/request-context).
  const logger = config.logger ?? pino({ name: 'tether', level: config.logLevel ?? 'info', mixin: requestLogFields })
  return { logger, now: config.now ?? Date.now }
}

function composeTetherServer<L extends Ledger>(
  backend: TetherBackend<L>,
  config: TetherServerConfig,
  workers: SessionWorkerCallbacksInput | undefined,
  { logger, now }: { logger: Logger; now: () => number },
): TetherServer<L> {
  const sc = config.sessions
  const metrics = createAppMetrics(config.metrics)
  const streams = backend.streams
  let endpoint: StreamsEndpoint
  let protocolTransport: StreamsTransport
  if (streams) {
    // Appends call the engine directly (streams-direct.ts); everything else is a protocol request.
    endpoint = {
      transport: (req) => streams.handle(req),
      append: directAppend(streams.access),
      offsetsCountAppends: true,
      baseUrl: `${INTERNAL_ORIGIN}${STREAMS_BASE_PATH}`,
    }
    protocolTransport = (req) => streams.handle(req)
  } else if (sc.streamsUrl) {
    endpoint = { transport: fetchTransport(), baseUrl: sc.streamsUrl }
    protocolTransport = proxyTransport(sc.streamsUrl)
    logger.info({ streamsUrl: sc.streamsUrl }, 'using an external Durable Streams server')
  } else throw new Error('no streams server: the backend made none and TETHER_STREAMS_URL is unset')

  // People who sign in (cookie, personal keys) only when a provider is configured: otherwise tokens alone, as before.
  const accounts = createAccounts({
    store: backend.accounts,
    profiles: backend.profiles,
    config: config.accounts ?? { providers: {}, adminEmails: [], signInTtlMs: DEFAULT_SIGN_IN_DAYS * 86_400_000 },
    publicUrl: config.publicUrl ?? 'http://127.0.0.1:3000',
    maxBodyBytes: sc.maxEventBodyBytes,
    now,
    authenticate: (req) => auth.authenticate(req), audit: (e) => ops.audit.record(e), // agent profiles (/api/agents); auth and ops are made below, used per request
  })
  const auth = createAuthenticator({ secret: backend.secret, enabled: sc.auth, now, people: () => (accounts.enabled ? accounts.credentials : null) })
  if (!sc.auth) {
    logger.warn('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!')
    logger.warn('TETHER_AUTH=off: NO AUTHENTICATION. Anyone who can reach this server can read, write,')
    logger.warn('terminate and delete every session. Use only for local experiments on a trusted machine.')
    logger.warn('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!')
  }

  // Lifecycle webhooks and the audit log (ops/operations.ts); the manager's callbacks record lifecycle events first.
  const ops = createOperations({ webhooks: backend.webhooks, signer: backend.webhookSigner, streams: endpoint, auth, now, logger, allowLoopbackWebhooks: config.allowLoopbackWebhooks, auditRetentionDays: sc.auditRetentionDays })
  const workerUrl = (config.nodeUrl ?? config.publicUrl ?? 'http://127.0.0.1:3000').replace(/\/+$/, '')
  const hookContext: WorkerCallbackContext = {
    issueToken: (opts) => auth.issue(opts),
    sessionStreamUrl: (id) => sessionStreamUrl(`${workerUrl}${STREAMS_BASE_PATH}`, id),
    writerUrl: `${workerUrl}${STREAMS_BASE_PATH}`,
    workerMetrics: metrics.workers,
    onWorkerCrashed: (crash) => void ops.lifecycle.record('worker.crashed', crash.sessionId, { ...crash }),
    ...(backend.sharedWithOtherNodes ? { leaseStore: backend.leases, sessionOf: async (id: string) => backend.sessions.get(id) } : {}),
  }
  const hooks = metrics.sessionCallbacks(typeof workers === 'function' ? workers(hookContext) : (workers ?? noopCallbacks))

  // Model spend as the gateway counted it (src/lib/gateway) is folded into every usage update.
  const { ledger, sessions: store } = backend
  const manager = new SessionManager({
    store,
    endpoint,
    hooks: ops.hooks(hooks),
    now,
    logger,
    retentionSeconds: sc.retentionDays * 86_400,
    defaultLimits: sc.defaultLimits,
    sharedStreams: backend.sharedWithOtherNodes,
  })
  const compaction = new SessionCompaction({ compactor: streams?.compactor ?? null, settings: sc.compaction, now, logger })
  const views = new SessionViews(endpoint, { checkpoints: backend.viewCheckpoints, logger })
  const monitor = new SessionMonitor({
    manager,
    store,
    now,
    logger,
    compaction,
    views,
    // Several nodes: each session is looked after by its lease holder's monitor only.
    ...(backend.sharedWithOtherNodes ? { ownership: monitorOwnership(backend.leases, () => hooks.leaseState?.()?.nodeId ?? null) } : {}),
    intervalMs: sc.monitorIntervalMs,
    ephemeralRemoveAfterMs: sc.ephemeralRemoveAfterMs,
  })

  const limits = createLimits({ store: backend.quotas, rateLimitDb: backend.rateLimitDb, auth, accounts, ops, config: config.limits, now })
  const writer = createWriter({ manager, auth, now, maxBodyBytes: sc.maxEventBodyBytes, rateLimit: limits.rate })
  const gateFor = (basePath: string, nestedBasePaths: string[] = []) =>
    createProtocolGate({
      auth,
      basePath,
      nestedBasePaths,
      inner: protocolTransport,
      maxBodyBytes: config.maxBodyBytes ?? 16 * 1024 * 1024,
      // Session appends: the writer's limits, and the writer's map of who started each message.
      maxEventBodyBytes: sc.maxEventBodyBytes,
      rateLimit: limits.rate,
      messageAuthors: (id) => manager.logs.messageAuthors(id),
      isSessionLive: async (id) => {
        const s = await store.status(id)
        return s !== null && isLiveStatus(s.status)
      },
      // Raw appends (workers): the session layer folds the validated events (usage, resume on activity).
      onSessionAppend: (id, events, offset) => {
        turnEventsAppended(id, events)
        if (hooks.onAgentHeartbeat && hasHeartbeat(events)) hooks.onAgentHeartbeat(id, heartbeatAgents(events))
        manager.appended(id, events, offset).catch((err: unknown) => logger.warn({ err, sessionId: id }, 'could not fold a raw append'))
      },
    })
  const gate = gateFor(STREAMS_BASE_PATH, [NESTED_PROTOCOL_PATH])
  const aliasGate = gateFor(PROTOCOL_ALIAS_PATH)
  const sessionsApi = ops.auditSessions(createSessionsApi({
    manager,
    store,
    auth,
    basePath: SESSIONS_BASE_PATH,
    streamsBasePath: STREAMS_BASE_PATH,
    publicUrl: sc.publicUrl,
    maxBodyBytes: sc.maxEventBodyBytes,
    compaction,
    statsSummary: backend.statsSummary,
    views,
    ...(accounts.enabled ? { accounts, quotas: limits.quotas ?? undefined } : {}),
    rateLimit: limits.rate,
    // The only holder of provider keys: workers call models through it (specs/gateway.md).
    model: ops.watchQuota(createModelGateway({ manager, auth, ledger, logger, spendLimit: limits.spendLimit, providerEnvFor: accounts.providerEnvFor, ...(config.gateway ?? gatewaySettings({})) })),
  }))

  const loginCodes = backend.loginCodes
  const loginExchange = ops.auditSignIn(createLoginExchange({ codes: loginCodes, auth }))

  metrics.attach({ auth, streams, db: backend.metrics, store, callbacks: hooks })
  monitor.start()
  const ready = manager.reconcile()

  let closing: Promise<void> | null = null
  return {
    manager,
    store,
    ledger,
    monitor,
    compaction,
    views,
    auth,
    endpoint,
    streams: backend.sqliteStreams,
    engine: backend.engine,
    logger,
    ready,
    issueToken: (opts) => auth.issue(opts),
    loginCodes,
    accounts,
    fetch: metrics.serve(withRequestContext(async (req) => {
      const { pathname } = new URL(req.url)
      try {
        if (pathname === HEALTH_PATH) return json({ ok: true })
        if (pathname === READY_PATH) {
          const report = await readiness([
            () => backend.readiness(),
            async () => (hooks.readiness ? await hooks.readiness() : []),
          ])
          return json(report, report.ok ? 200 : 503)
        }
        if (pathname === AUTH_EXCHANGE_PATH) return await loginExchange(req)
        if (accounts.owns(pathname)) return await accounts.handle(req)
        if (limits.owns(pathname)) return withCors(await limits.handle(req))
        if (ops.owns(pathname)) return withCors(await ops.handle(req))
        if (pathname === STREAMS_BASE_PATH || pathname === `${STREAMS_BASE_PATH}/`) {
          if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: PREFLIGHT_HEADERS })
          return withCors(await inSpan('session.writer', {}, () => writer(req)))
        }
        if (pathname.startsWith(`${STREAMS_BASE_PATH}/`)) return await inSpan('streams.gate', {}, () => gate(req))
        if (pathname.startsWith(`${PROTOCOL_ALIAS_PATH}/`)) return await inSpan('streams.gate', {}, () => aliasGate(req))
        if (pathname === SESSIONS_BASE_PATH || pathname.startsWith(`${SESSIONS_BASE_PATH}/`)) {
          if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: PREFLIGHT_HEADERS })
          return withCors(await inSpan('sessions.api', {}, () => sessionsApi(req)))
        }
        return errorResponse(new HttpError(404, `no route for ${pathname}`))
      } catch (err) {
        if (req.signal.aborted) return new Response(null, { status: 499 })
        if (databaseUnavailable(err)) {
          logger.warn({ err, method: req.method, pathname }, 'database unavailable')
          return json({ ok: false, error: 'the database is unavailable; retry' }, 503, { 'retry-after': String(DATABASE_RETRY_AFTER_S) })
        }
        const external = Boolean(sc.streamsUrl) && err instanceof TypeError
        logger.error({ err, method: req.method, pathname }, external ? 'streams backend unreachable' : 'request failed')
        return json({ ok: false, error: external ? 'streams backend unreachable' : 'internal error' }, external ? 502 : 500)
      }
    })),
    close() {
      closing ??= (async () => {
        monitor.stop()
        ops.close()
        await manager.closeWorkerCallbacks()
        await backend.close()
      })()
      return closing
    },
  }
}
