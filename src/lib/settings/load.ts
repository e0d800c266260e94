/**
 * `loadSettings(env)`: the server's one configuration parser. It parses every variable of
 * schema.ts once and returns typed sections, so no module below reads the environment itself.
 * A bad value stops start-up with the variable's name and the reason (never its value: it may be
 * the secret).
 */
import { z } from 'zod'
import type { SessionLimits } from '../sessions/session-types'
import type { CompactionSettings } from '../sessions/compaction/service'
import { parseModelPrices, type PriceTable } from '../gateway/pricing'
import { providerEnvFrom, type ProviderEnv } from '../gateway/providers'
import type { Durability } from '../db/connection'
import type { RuntimeKind } from '../workers/runtime'
import { VARIABLES, type ParsedEnv } from './schema'
import { accountsConfigFrom } from '../accounts/config'
import type { AccountsConfig } from '../accounts'
import { limitsConfigFrom, type LimitsConfig } from '../accounts/quotas-config'

export type Env = Readonly<Record<string, string | undefined>>

export interface ServerSettings {
  port: number
  host: string
  /** Origin for links and workers: TETHER_PUBLIC_URL, else http://HOST:PORT (no trailing slash). */
  publicUrl: string
}

export interface StreamsSettings {
  dataDir: string
  durability: Durability
  /** PostgreSQL instead of SQLite: the app's and the bare streams server's database (specs/scale-out.md). */
  databaseUrl: string | null
  longPollTimeoutMs: number
  maxBodyBytes: number
  retentionDays: number
  /** Retention of streams created without TTL, in ms (null = forever). */
  defaultRetentionMs: number | null
  allowLoopbackWebhooks: boolean
  /** SSE backpressure: per-reader buffer bound and how long a reader may stay there. */
  sseMaxBufferBytes: number
  sseSlowGraceMs: number
}

export interface SessionsConfig {
  auth: boolean
  /** TETHER_SECRET; unset: generated into <data dir>/secret (sessions/secret.ts). */
  secret?: string
  /** TETHER_CREDENTIALS_KEY; unset: generated into <data dir>/credentials.key (accounts/credential-cipher.ts). */
  credentialsKey?: string
  streamsUrl?: string
  publicUrl?: string
  monitorIntervalMs: number
  ephemeralRemoveAfterMs: number
  retentionDays: number
  /** Stream-TTL of the audit log `__tether/audit` in days (TETHER_AUDIT_RETENTION_DAYS; src/lib/ops/audit.ts). */
  auditRetentionDays?: number
  maxEventBodyBytes: number
  /** Overrides of the per-pattern default limits (null = no limit). */
  defaultLimits: Partial<SessionLimits>
  /** Stream compaction policy (TETHER_COMPACT_*, TETHER_RETAIN_*, TETHER_TERMINAL_*); unset fields take the defaults. */
  compaction?: Partial<CompactionSettings>
}

export interface WorkersConfig {
  enabled: boolean
  runtime: RuntimeKind
  warmPool: Partial<Record<RuntimeKind, number>>
  heartbeatMs?: number
  /** Heartbeat intervals a running worker may miss before it is killed and restarted (workers/health.ts). */
  heartbeatMisses?: number
  memoryBytes?: number
  nanoCpus?: number
  /** Use this image as is (e.g. built from src/worker/Dockerfile) instead of building one. */
  image?: string
  /** The workers' command sandbox (bwrap, setuid:<uid>:<gid>, off; unset = bwrap); checked by the process runtime. */
  sandbox?: string
  /** TETHER_WORK_ROOT (unset: <tmpdir>/tether-work-<hash of the data dir>). */
  workRoot?: string
  /** TETHER_WORKER_NETWORK as given (checked by workerNetworkFrom when workers are wired). */
  network?: string
  /** DOCKER_HOST (unset: the default sockets). */
  dockerHost?: string
  /** TETHER_WORKSPACE_SNAPSHOTS_KEEP and TETHER_WORKSPACE_SNAPSHOT_MAX_BYTES (workers/workspaces.ts). */
  snapshots?: { keep: number; maxBytes: number; dir?: string }
}

export interface GatewayConfig {
  providerEnv: ProviderEnv
  prices: PriceTable
}

export interface Settings {
  server: ServerSettings
  streams: StreamsSettings
  sessions: SessionsConfig
  workers: WorkersConfig
  gateway: GatewayConfig
  /** Sign-in through identity providers (src/lib/accounts); no provider = off. */
  accounts: AccountsConfig
  /** Per-person quotas and request rate limits (TETHER_QUOTA_*, TETHER_RATE_LIMIT_*). */
  limits: LimitsConfig
  /** GET /metrics (TETHER_METRICS, TETHER_METRICS_TOKEN). */
  metrics: { enabled: boolean; token?: string }
  /** `otlpEndpoint`: traces on when set (TETHER_OTEL_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT). */
  logging: { level: ParsedEnv['LOG_LEVEL']; otlpEndpoint?: string }
}

const envSchema = z.object(Object.fromEntries(Object.entries(VARIABLES).map(([name, v]) => [name, v.type])))

/** Parses the whole list; throws `Invalid configuration: NAME: reason; …`. */
export function parseEnv(env: Env): ParsedEnv {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
    throw new Error(`Invalid configuration: ${reasons}`)
  }
  return parsed.data as ParsedEnv
}

const noSlash = (url: string | undefined) => url?.replace(/\/+$/, '')

function sessionLimits(e: ParsedEnv): Partial<SessionLimits> {
  const out: Partial<SessionLimits> = {}
  const entries: [keyof SessionLimits, number | undefined][] = [
    ['maxIdleTimeMs', e.TETHER_SESSION_MAX_IDLE_MS],
    ['maxLifetimeMs', e.TETHER_SESSION_MAX_LIFETIME_MS],
    ['maxBudgetUsd', e.TETHER_SESSION_MAX_BUDGET_USD],
    ['maxTurns', e.TETHER_SESSION_MAX_TURNS],
  ]
  // 0 = no limit (null); unset = the pattern's default.
  for (const [k, v] of entries) if (v !== undefined) out[k] = v === 0 ? null : v
  return out
}

function workers(e: ParsedEnv): WorkersConfig {
  const warmPool: Partial<Record<RuntimeKind, number>> = {}
  if (e.TETHER_WARM_POOL_SIZE !== undefined) warmPool[e.TETHER_WORKER_RUNTIME] = e.TETHER_WARM_POOL_SIZE
  if (e.TETHER_WARM_POOL_SIZE_PROCESS !== undefined) warmPool.process = e.TETHER_WARM_POOL_SIZE_PROCESS
  if (e.TETHER_WARM_POOL_SIZE_DOCKER !== undefined) warmPool.docker = e.TETHER_WARM_POOL_SIZE_DOCKER
  return {
    enabled: e.TETHER_WORKERS === 'on',
    runtime: e.TETHER_WORKER_RUNTIME,
    warmPool,
    ...(e.TETHER_WORKER_HEARTBEAT_MS ? { heartbeatMs: e.TETHER_WORKER_HEARTBEAT_MS } : {}),
    ...(e.TETHER_WORKER_HEARTBEAT_MISSES !== undefined ? { heartbeatMisses: e.TETHER_WORKER_HEARTBEAT_MISSES } : {}),
    ...(e.TETHER_WORKER_MEMORY_MB ? { memoryBytes: e.TETHER_WORKER_MEMORY_MB * 1024 * 1024 } : {}),
    ...(e.TETHER_WORKER_CPUS ? { nanoCpus: Math.round(e.TETHER_WORKER_CPUS * 1e9) } : {}),
    ...(e.TETHER_WORKER_IMAGE ? { image: e.TETHER_WORKER_IMAGE } : {}),
    sandbox: e.TETHER_SANDBOX,
    ...(e.TETHER_WORK_ROOT ? { workRoot: e.TETHER_WORK_ROOT } : {}),
    ...(e.TETHER_WORKER_NETWORK !== undefined ? { network: e.TETHER_WORKER_NETWORK } : {}),
    ...(e.DOCKER_HOST ? { dockerHost: e.DOCKER_HOST } : {}),
    snapshots: {
      keep: e.TETHER_WORKSPACE_SNAPSHOTS_KEEP,
      maxBytes: e.TETHER_WORKSPACE_SNAPSHOT_MAX_BYTES,
      ...(e.TETHER_WORKSPACES_DIR ? { dir: e.TETHER_WORKSPACES_DIR } : {}),
    },
  }
}

export function loadSettings(env: Env): Settings {
  const e = parseEnv(env)
  const publicUrl = noSlash(e.TETHER_PUBLIC_URL)
  return {
    server: { port: e.PORT, host: e.HOST, publicUrl: publicUrl ?? `http://${e.HOST}:${e.PORT}` },
    streams: {
      dataDir: e.TETHER_DATA_DIR,
      durability: e.TETHER_DURABILITY,
      databaseUrl: e.TETHER_DATABASE_URL ?? null,
      longPollTimeoutMs: e.TETHER_LONG_POLL_TIMEOUT_MS,
      maxBodyBytes: e.TETHER_MAX_BODY_BYTES,
      retentionDays: e.TETHER_RETENTION_DAYS,
      defaultRetentionMs: e.TETHER_RETENTION_DAYS === 0 ? null : e.TETHER_RETENTION_DAYS * 86_400_000,
      allowLoopbackWebhooks: e.TETHER_ALLOW_LOOPBACK_WEBHOOKS,
      sseMaxBufferBytes: e.TETHER_SSE_MAX_BUFFER_BYTES,
      sseSlowGraceMs: e.TETHER_SSE_SLOW_GRACE_MS,
    },
    sessions: {
      auth: e.TETHER_AUTH === 'on',
      secret: e.TETHER_SECRET,
      ...(e.TETHER_CREDENTIALS_KEY ? { credentialsKey: e.TETHER_CREDENTIALS_KEY } : {}),
      streamsUrl: noSlash(e.TETHER_STREAMS_URL),
      publicUrl,
      monitorIntervalMs: e.TETHER_MONITOR_INTERVAL_MS,
      ephemeralRemoveAfterMs: e.TETHER_EPHEMERAL_REMOVE_AFTER_MS,
      retentionDays: e.TETHER_SESSION_RETENTION_DAYS,
      auditRetentionDays: e.TETHER_AUDIT_RETENTION_DAYS,
      maxEventBodyBytes: e.TETHER_MAX_EVENT_BODY_BYTES,
      defaultLimits: sessionLimits(e),
      compaction: {
        chunks: e.TETHER_COMPACT_CHUNKS === 'on',
        intervalMs: e.TETHER_COMPACT_INTERVAL_MS,
        minNewBytes: e.TETHER_COMPACT_MIN_BYTES,
        chunkGraceMs: e.TETHER_COMPACT_GRACE_MS,
        presenceWindowMs: e.TETHER_RETAIN_PRESENCE_MS,
        terminalOutputLines: e.TETHER_TERMINAL_SCROLLBACK_LINES,
        terminalOutputBytes: e.TETHER_TERMINAL_SCROLLBACK_BYTES,
        terminalInputLines: e.TETHER_TERMINAL_HISTORY_LINES,
      },
    },
    workers: workers(e),
    accounts: accountsConfigFrom(e),
    limits: limitsConfigFrom(e),
    // Prices are checked here, at start-up, so a malformed table stops the server with the reason.
    gateway: gatewaySettings(env),
    metrics: { enabled: e.TETHER_METRICS === 'on', ...(e.TETHER_METRICS_TOKEN ? { token: e.TETHER_METRICS_TOKEN } : {}) },
    logging: { level: e.LOG_LEVEL, ...otlp(e.TETHER_OTEL_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT) },
  }
}

const otlp = (endpoint: string | undefined) => (endpoint ? { otlpEndpoint: endpoint } : {})

/** The gateway's settings alone (tests, and apps built without a full environment). */
export const gatewaySettings = (env: Env): GatewayConfig => ({
  providerEnv: providerEnvFrom(env),
  prices: parseModelPrices(env.TETHER_MODEL_PRICES),
})
