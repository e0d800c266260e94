/**
 * What the app keeps in its database, for one engine (issue 14): the built-in streams server and
 * every store the composition root (tether-server.ts) hands out. SQLite (this file, the embedded
 * default) opens synchronously; PostgreSQL (tether-backend-pg.ts, several nodes on one database)
 * opens asynchronously. Above this seam nothing knows which engine it runs on.
 */
import { join } from 'node:path'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import type { AccountStore } from './accounts/account-store'
import { SqliteAccountStore } from './accounts/account-store'
import { credentialCipher, type CredentialCipher } from './accounts/credential-cipher'
import { SqliteProfileStore, type ProfileStore } from './accounts/profile-store'
import type { QuotaLimits, QuotaStore } from './accounts/quotas-store'
import { SqliteQuotaStore } from './accounts/quotas-store'
import type { Logger } from './common/logger'
import { ensurePrivateDir, openDatabase, type Durability } from './db/connection'
import { LedgerSessionStore, ModelLedger, type Ledger } from './gateway'
import type { MetricsDbReader } from './ops/metrics-db'
import { sqliteMetricsReader } from './ops/metrics-db'
import { databaseWritable, migrationsApplied, type ReadinessCheck } from './ops/readiness'
import { createStatsSummaryHandler } from './ops/stats-summary'
import { SqliteWebhookStore, type WebhookStore } from './ops/webhooks-store'
import { NESTED_PROTOCOL_PATH, PROTOCOL_ALIAS_PATH, STREAMS_BASE_PATH } from './protocol-mounts'
import { loginCodeStore, type LoginCodeStore } from './sessions/login-links'
import { loadOrCreateSecret } from './sessions/secret'
import type { SessionStore } from './sessions/session-rows'
import type { TokenClaims, TokenSecret } from './sessions/tokens'
import { createStreamsServer, type StreamsServer } from './streams'
import type { StreamCompaction } from './streams/compaction'
import type { SseLimits } from './streams/sse-limits'
import type { StreamsCore } from './streams/streams-frontend'
import type { StreamAccess } from './streams/seams'
import { createSubscriptions } from './streams/subscriptions'
import { sqliteRepo } from './streams/subscriptions/repo'
import { generateWebhookKey, WebhookSigner } from './streams/subscriptions/signing'
import { sqliteViewCheckpoints, type ViewCheckpointStore } from './sessions/view-checkpoints'
import type { LeaseStore } from './workers/session-leases'
import { sqliteLeaseStore } from './workers/session-leases-sql'

/** Where the app keeps its data and how its built-in streams server behaves (part of TetherServerConfig). */
export interface StorageSettings {
  dataDir: string
  /** SQLite file (default <dataDir>/tether.db); ':memory:' for throwaway apps. */
  dbFile?: string
  /** `postgres://…` (TETHER_DATABASE_URL): every store and the streams in PostgreSQL (tether-backend-pg.ts). */
  databaseUrl?: string
  durability?: Durability
  longPollTimeoutMs?: number
  /** Largest protocol request body (413 above). */
  maxBodyBytes?: number
  /** Built-in server's retention for streams created without TTL (null = forever). */
  defaultRetentionMs?: number | null
  /** Built-in server's expiry sweep interval (0 = no timer). */
  sweepIntervalMs?: number
  /** Mount Durable Streams subscriptions (`__ds/…`) on the built-in server (default true). */
  subscriptions?: boolean
  allowLoopbackWebhooks?: boolean
  /** Built-in server's SSE backpressure (per-reader buffer bound, slow-reader cut-off). */
  sseLimits?: Partial<SseLimits>
}

/** What the backend needs: the storage settings and a few of the app's. */
export interface BackendConfig extends StorageSettings {
  /** An external Durable Streams server: no built-in one is made. */
  streamsUrl?: string
  /** TETHER_SECRET (else `<dataDir>/secret`, SQLite only). */
  secret?: string
  /** TETHER_CREDENTIALS_KEY (else `<dataDir>/credentials.key`, SQLite only). */
  credentialsKey?: string
  quotaDefaults: QuotaLimits
  now: () => number
  logger: Logger
}

/** The built-in streams server as the app uses it, on either engine. */
export type BuiltInStreams = StreamsCore & { compactor: StreamCompaction; access: StreamAccess }

/** The built-in streams server's options, the same on either engine: the app's mounts and limits. */
export function builtInStreamsOptions(config: BackendConfig) {
  return {
    basePath: STREAMS_BASE_PATH,
    aliasBasePaths: [PROTOCOL_ALIAS_PATH, NESTED_PROTOCOL_PATH],
    longPollTimeoutMs: config.longPollTimeoutMs,
    maxBodyBytes: config.maxBodyBytes,
    defaultRetentionMs: config.defaultRetentionMs,
    sweepIntervalMs: config.sweepIntervalMs,
    sseLimits: config.sseLimits,
    logger: config.logger,
  }
}

/** `L`: the ledger's type (SQLite's answers synchronously, which tests rely on). */
export interface TetherBackend<L extends Ledger = Ledger> {
  engine: 'sqlite' | 'postgres'
  /**
   * Other nodes may share this database (PostgreSQL): workers run under session leases, session
   * logs re-read the stream instead of trusting this node's fold, and each session's monitor runs
   * on its lease holder only.
   */
  sharedWithOtherNodes: boolean
  /** The built-in streams server (null with TETHER_STREAMS_URL). */
  streams: BuiltInStreams | null
  /** The same server when it is the SQLite one (tests reach into its database). */
  sqliteStreams: StreamsServer | null
  secret: TokenSecret
  cipher: CredentialCipher
  /** Sessions, with the gateway's ledger folded into usage. */
  sessions: SessionStore
  ledger: L
  accounts: AccountStore
  profiles: ProfileStore
  quotas: QuotaStore
  webhooks: WebhookStore
  webhookSigner: WebhookSigner
  loginCodes: LoginCodeStore
  leases: LeaseStore
  /** Session view checkpoints (sessions/session-views.ts). */
  viewCheckpoints: ViewCheckpointStore
  /** Shared rate-limit counters (PostgreSQL: every node counts in one table); absent: per process. */
  rateLimitDb?: PostgresJsDatabase
  statsSummary(req: Request, claims: TokenClaims): Response | Promise<Response>
  metrics: { reader: MetricsDbReader; file: string | null }
  readiness(): Promise<ReadinessCheck[]>
  close(): Promise<void>
}

/** The subscriptions' Ed25519 key (the same table, the same JWKS), made here if none exists yet. */
function sqliteWebhookSigner(repo: ReturnType<typeof sqliteRepo>, now: number): WebhookSigner {
  if (!repo.loadKeys().some((k) => k.kind === 'webhook-ed25519')) repo.saveKey(generateWebhookKey(now))
  return new WebhookSigner(repo.loadKeys())
}

/** The embedded default: one SQLite file holds the streams and every store. */
export function openSqliteBackend(config: BackendConfig): TetherBackend<ModelLedger> {
  const { now, logger } = config
  // The data dir holds the database, the token secret and login codes: owner-only (issue #8).
  if (config.dbFile === undefined) ensurePrivateDir(config.dataDir)
  const file = config.dbFile ?? join(config.dataDir, 'tether.db')
  const db = openDatabase({ file, durability: config.durability })
  let streams: StreamsServer | null = null
  if (!config.streamsUrl) {
    streams = createStreamsServer({ db, ...builtInStreamsOptions(config) })
    if (config.subscriptions !== false) {
      const subs = createSubscriptions({
        access: streams.access,
        db: streams.sqlite,
        allowLoopbackWebhooks: config.allowLoopbackWebhooks,
        log: logger.child({ component: 'subscriptions' }),
      })
      streams.setReserved(subs)
      streams.addListener(subs)
    }
  }
  const ledger = new ModelLedger(db.db, now)
  const cipher = credentialCipher(config.dataDir, config.credentialsKey)
  const summary = createStatsSummaryHandler(db.sqlite, now)
  return {
    engine: 'sqlite',
    sharedWithOtherNodes: false,
    streams,
    sqliteStreams: streams,
    secret: loadOrCreateSecret(config.dataDir, config.secret),
    cipher,
    sessions: new LedgerSessionStore(db.db, ledger),
    ledger,
    accounts: new SqliteAccountStore(db.db, now),
    profiles: new SqliteProfileStore(db.db, cipher, now),
    quotas: new SqliteQuotaStore(db.sqlite, config.quotaDefaults, now),
    webhooks: new SqliteWebhookStore(db.db, now),
    webhookSigner: sqliteWebhookSigner(sqliteRepo(db.sqlite), now()),
    loginCodes: loginCodeStore(config.dataDir, now),
    leases: sqliteLeaseStore(db.sqlite),
    viewCheckpoints: sqliteViewCheckpoints(db.sqlite, now),
    statsSummary: summary,
    metrics: { reader: sqliteMetricsReader(db.sqlite), file: file === ':memory:' ? null : file },
    readiness: async () => [databaseWritable(db.sqlite), migrationsApplied(db.sqlite, db.migrationsFolder)],
    async close() {
      streams?.close()
      db.close()
    },
  }
}
