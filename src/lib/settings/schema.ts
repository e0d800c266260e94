/**
 * Every environment variable the server, the bare streams server and the CLI read: one
 * declarative list (name → zod type, default as the README shows it, one-line doc, who reads it).
 * `loadSettings` (load.ts) parses the whole list once; README's configuration table is generated
 * from it (`npm run settings:readme`) and checked against it by test/lib/settings.
 *
 * `readme: false` marks variables that are for tests, development or tooling only: they are
 * listed here (so nothing reads the environment behind the front door's back) but left out of
 * the README. The worker program's own variables, set by the runtimes rather than by operators,
 * are in worker.ts (no zod there: it is bundled into the worker).
 */
import { z } from 'zod'
import { NODE_VARIABLES } from './schema-nodes'

/** Which program reads a variable. */
export type Reader = 'server' | 'streams' | 'cli' | 'tests'

export interface Variable<T extends z.ZodType = z.ZodType> {
  type: T
  /** The default as README shows it (markdown); '–' when unset means "none". */
  default: string
  doc: string
  readers: readonly Reader[]
  /** false: tests, development or tooling only; not in README's table. */
  readme?: boolean
}

const nonNegativeInt = z.string().regex(/^\d+$/, 'must be a non-negative integer').transform(Number)
const nonNegativeNumber = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a non-negative number')
  .transform(Number)
const intWithDefault = (fallback: number) => nonNegativeInt.optional().transform((v) => v ?? fallback)
const onOff = z.enum(['on', 'off']).default('on')
const optionalText = z.string().optional()

const variable = <T extends z.ZodType>(type: T, meta: Omit<Variable<T>, 'type'>): Variable<T> => ({ type, ...meta })
const SERVERS: readonly Reader[] = ['server', 'streams', 'cli']

export const VARIABLES = {
  PORT: variable(intWithDefault(3000), { default: '`3000`', doc: 'port to listen on', readers: SERVERS }),
  HOST: variable(z.string().min(1).default('127.0.0.1'), { default: '`127.0.0.1`', doc: 'address to listen on', readers: SERVERS }),
  TETHER_DATA_DIR: variable(z.string().min(1).default('./data'), {
    default: '`./data`',
    doc: 'the SQLite file (`tether.db`), the token secret and one-time login codes; the dir is made 0700 and the files 0600 at start, whatever the umask',
    readers: SERVERS,
  }),
  TETHER_DURABILITY: variable(z.enum(['normal', 'fsync']).default('normal'), {
    default: '`normal`',
    doc: '`normal`: WAL + synchronous=NORMAL, an acknowledged append survives a process crash (`kill -9`); `fsync`: synchronous=FULL, survives power loss too',
    readers: ['server', 'streams'],
  }),
  TETHER_DATABASE_URL: variable(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    {
      default: 'unset (SQLite)',
      doc: '`postgres://…`: the app (and `npm run streams`) keeps everything the SQLite file held in this PostgreSQL database instead (migrated at start), so several nodes behind a load balancer serve the same sessions (specs/scale-out.md); needs `TETHER_SECRET` and `TETHER_CREDENTIALS_KEY`, the same on every node (it refuses to start without them)',
      readers: ['server', 'streams', 'cli'],
    },
  ),
  TETHER_LONG_POLL_TIMEOUT_MS: variable(intWithDefault(30_000), {
    default: '`30000`',
    doc: 'how long a long-poll read waits before answering 204',
    readers: ['server', 'streams'],
  }),
  TETHER_SSE_MAX_BUFFER_BYTES: variable(intWithDefault(1024 * 1024), {
    default: '`1048576`',
    doc: 'bytes queued on the server for one SSE reader before it takes no new frames (catches up later); a reader at this bound for `TETHER_SSE_SLOW_GRACE_MS`, or while 64 MiB is appended, is cut off with a resumable offset',
    readers: ['server', 'streams'],
  }),
  TETHER_SSE_SLOW_GRACE_MS: variable(intWithDefault(30_000), {
    default: '`30000`',
    doc: 'how long an SSE reader may stay at its buffer bound before it is cut off (it resumes from its last offset)',
    readers: ['server', 'streams'],
  }),
  TETHER_MAX_BODY_BYTES: variable(intWithDefault(16 * 1024 * 1024), {
    default: '`16777216`',
    doc: 'largest protocol request body (413 above)',
    readers: ['server', 'streams'],
  }),
  TETHER_MAX_EVENT_BODY_BYTES: variable(intWithDefault(1024 * 1024), {
    default: '`1048576`',
    doc: 'largest body (and at most 1,000 events) for the session writer and raw appends to `sessions/<id>`',
    readers: ['server'],
  }),
  TETHER_RETENTION_DAYS: variable(intWithDefault(30), {
    default: '`30`',
    doc: 'streams made without TTL expire this long after creation (0 = never)',
    readers: ['server', 'streams'],
  }),
  TETHER_SESSION_RETENTION_DAYS: variable(intWithDefault(30), {
    default: '`30`',
    doc: 'session streams expire this long after their last read or write (sliding Stream-TTL)',
    readers: ['server'],
  }),
  TETHER_AUDIT_RETENTION_DAYS: variable(intWithDefault(365), {
    default: '`365`',
    doc: 'the audit log (`__tether/audit`, admin-only) expires this long after its last entry or read (its sliding Stream-TTL; `0`: `TETHER_RETENTION_DAYS`)',
    readers: ['server'],
  }),
  TETHER_COMPACT_CHUNKS: variable(onOff, {
    default: '`on`',
    doc: "compaction folds a finished message's token chunks into one event (specs/sessions.md, Retention and compaction)",
    readers: ['server'],
  }),
  TETHER_COMPACT_INTERVAL_MS: variable(intWithDefault(60_000), {
    default: '`60000`',
    doc: 'a live session stream is compacted at most this often, when TETHER_COMPACT_MIN_BYTES were appended since (0 = only when it ends or on request)',
    readers: ['server'],
  }),
  TETHER_COMPACT_MIN_BYTES: variable(intWithDefault(256 * 1024), {
    default: '`262144`',
    doc: 'bytes appended to a live session since its last compaction before the monitor compacts it again',
    readers: ['server'],
  }),
  TETHER_COMPACT_GRACE_MS: variable(intWithDefault(60_000), {
    default: '`60000`',
    doc: "a message's chunks are folded only this long after its last chunk (a retry of a folded chunk within it is still deduplicated)",
    readers: ['server'],
  }),
  TETHER_RETAIN_PRESENCE_MS: variable(intWithDefault(300_000), {
    default: '`300000`',
    doc: 'presence and cursor events older than this are dropped by compaction (the newest per person within it is kept)',
    readers: ['server'],
  }),
  TETHER_TERMINAL_SCROLLBACK_LINES: variable(intWithDefault(10_000), {
    default: '`10000`',
    doc: 'terminal output lines (output events) a session keeps; older ones are dropped by compaction',
    readers: ['server'],
  }),
  TETHER_TERMINAL_SCROLLBACK_BYTES: variable(intWithDefault(8 * 1024 * 1024), {
    default: '`8388608`',
    doc: 'characters of terminal output a session keeps (whichever of this and the line budget is reached first)',
    readers: ['server'],
  }),
  TETHER_TERMINAL_HISTORY_LINES: variable(intWithDefault(2_000), {
    default: '`2000`',
    doc: 'terminal input lines (commands and keys) a session keeps; an input dropped takes its output and exit lines along',
    readers: ['server'],
  }),
  TETHER_ALLOW_LOOPBACK_WEBHOOKS: variable(
    z
      .enum(['0', '1', 'true', 'false'])
      .default('0')
      .transform((v) => v === '1' || v === 'true'),
    {
      default: '`0`',
      doc: 'allow subscription webhooks to loopback targets (development and tests only)',
      readers: ['server', 'streams', 'tests'],
      readme: false,
    },
  ),
  TETHER_AUTH: variable(onOff, {
    default: '`on`',
    doc: '`off` disables tokens (loud warning; local experiments only)',
    readers: ['server'],
  }),
  TETHER_METRICS: variable(onOff, {
    default: '`on`',
    doc: '`off` stops counting and turns `GET /metrics` (Prometheus format) into a 404',
    readers: ['server'],
  }),
  TETHER_METRICS_TOKEN: variable(z.string().min(16, 'must be at least 16 characters').optional(), {
    default: 'unset (admin tokens only)',
    doc: 'a bearer secret for Prometheus scrapers: `GET /metrics` with `Authorization: Bearer <it>` (admin tokens work too)',
    readers: ['server'],
  }),
  TETHER_SECRET: variable(z.string().min(16, 'must be at least 16 characters').optional(), {
    default: 'generated into the data dir',
    doc: 'token signing secret (at least 16 characters)',
    readers: ['server', 'cli'],
  }),
  TETHER_CREDENTIALS_KEY: variable(z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be 32 bytes in base64 (openssl rand -base64 32)').optional(), {
    default: 'generated into the data dir',
    doc: 'the AES-256 key of agent credentials at rest (32 bytes, base64); required with `TETHER_DATABASE_URL` so every node opens the same credentials',
    readers: ['server'],
  }),
  // Sign-in (src/lib/accounts, specs/accounts.md): off unless a provider is set; secrets are never logged or returned.
  TETHER_OIDC_ISSUER: variable(z.url().optional(), {
    default: 'unset (no OpenID sign-in)',
    doc: 'OpenID Connect issuer URL (discovery at `/.well-known/openid-configuration`); with `TETHER_OIDC_CLIENT_ID` and `_SECRET` people sign in with it (callback: `<TETHER_PUBLIC_URL>/api/auth/callback`)',
    readers: ['server'],
  }),
  TETHER_OIDC_CLIENT_ID: variable(optionalText, { default: '–', doc: "the OpenID client's id at the issuer", readers: ['server'] }),
  TETHER_OIDC_CLIENT_SECRET: variable(optionalText, { default: '–', doc: "the OpenID client's secret", readers: ['server'] }),
  TETHER_GITHUB_CLIENT_ID: variable(optionalText, {
    default: 'unset (no GitHub sign-in)',
    doc: 'a GitHub OAuth app\'s client id: "Sign in with GitHub" (with `TETHER_GITHUB_CLIENT_SECRET`; callback `<TETHER_PUBLIC_URL>/api/auth/callback`)',
    readers: ['server'],
  }),
  TETHER_GITHUB_CLIENT_SECRET: variable(optionalText, { default: '–', doc: "the GitHub OAuth app's client secret", readers: ['server'] }),
  TETHER_ADMIN_EMAILS: variable(optionalText, {
    default: '–',
    doc: 'comma-separated emails whose owners are admins when they sign in (the provider must say the email is verified)',
    readers: ['server'],
  }),
  TETHER_SIGNIN_DAYS: variable(intWithDefault(14), { default: '`14`', doc: 'how long a sign-in (the browser cookie) lasts', readers: ['server'] }),
  // Quotas and rate limits (src/lib/accounts/quotas*.ts, src/lib/ops/rate-limit.ts; specs/accounts.md).
  TETHER_QUOTA_CONCURRENT_SESSIONS: variable(nonNegativeInt.optional(), {
    default: 'unlimited',
    doc: "a signed-in person's default limit on sessions they own that have not ended (0 = no limit; an admin overrides it per person)",
    readers: ['server'],
  }),
  TETHER_QUOTA_SESSIONS_PER_DAY: variable(nonNegativeInt.optional(), {
    default: 'unlimited',
    doc: "a signed-in person's default limit on sessions started (created or forked) per UTC day (0 = no limit)",
    readers: ['server'],
  }),
  TETHER_QUOTA_MONTHLY_SPEND_USD: variable(nonNegativeNumber.optional(), {
    default: 'unlimited',
    doc: "a signed-in person's default model spend per UTC calendar month over all their sessions, USD; past it new sessions and model calls are refused (0 = no limit)",
    readers: ['server'],
  }),
  TETHER_RATE_LIMIT_WINDOW_SECONDS: variable(intWithDefault(60), {
    default: '`60`',
    doc: 'the window of the request rate limits below (in memory, per server process)',
    readers: ['server'],
  }),
  TETHER_RATE_LIMIT_SESSIONS: variable(intWithDefault(600), {
    default: '`600`',
    doc: 'sessions API requests per window per person or token; more get 429 with `Retry-After` (0 = no limit; admins are not limited)',
    readers: ['server'],
  }),
  TETHER_RATE_LIMIT_WRITES: variable(intWithDefault(3000), {
    default: '`3000`',
    doc: 'writes (the session writer, raw protocol POST/PUT/DELETE) per window per person or token (0 = no limit)',
    readers: ['server'],
  }),
  TETHER_RATE_LIMIT_WORKER: variable(intWithDefault(30000), {
    default: '`30000`',
    doc: "an agent worker's own budget per window, for writes and for sessions API requests each: workers stream every token and output line (0 = no limit)",
    readers: ['server'],
  }),
  TETHER_STREAMS_URL: variable(z.url().optional(), {
    default: 'built-in',
    doc: 'use an external Durable Streams server (base URL; stream paths are appended) instead of the built-in SQLite one',
    readers: ['server'],
  }),
  TETHER_PUBLIC_URL: variable(z.url().optional(), {
    default: '`http://<HOST>:<PORT>`',
    doc: 'origin used in admin and share links and by workers to reach the server',
    readers: ['server', 'cli'],
  }),
  TETHER_MONITOR_INTERVAL_MS: variable(intWithDefault(5_000), {
    default: '`5000`',
    doc: 'how often the session monitor checks limits (0 = no timer)',
    readers: ['server'],
  }),
  TETHER_EPHEMERAL_REMOVE_AFTER_MS: variable(intWithDefault(60_000), {
    default: '`60000`',
    doc: 'an ended ephemeral session is removed this long after it ends',
    readers: ['server'],
  }),
  TETHER_SESSION_MAX_IDLE_MS: variable(nonNegativeInt.optional(), {
    default: 'per pattern',
    doc: 'override of the default idle limit (0 = no limit)',
    readers: ['server'],
  }),
  TETHER_SESSION_MAX_LIFETIME_MS: variable(nonNegativeInt.optional(), {
    default: 'per pattern',
    doc: 'override of the default lifetime limit (0 = no limit)',
    readers: ['server'],
  }),
  TETHER_SESSION_MAX_BUDGET_USD: variable(nonNegativeNumber.optional(), {
    default: 'per pattern',
    doc: 'override of the default model budget (0 = no limit)',
    readers: ['server'],
  }),
  TETHER_SESSION_MAX_TURNS: variable(nonNegativeInt.optional(), {
    default: 'per pattern',
    doc: 'override of the default turn limit (0 = no limit)',
    readers: ['server'],
  }),
  TETHER_WORKERS: variable(onOff, { default: '`on`', doc: 'start agent workers for sessions', readers: ['server'] }),
  TETHER_WORKER_RUNTIME: variable(z.enum(['process', 'docker']).default('process'), {
    default: '`process`',
    doc: '`docker` runs each worker in a container with no network (`DOCKER_HOST` or the default socket); a session may pick its own with `metadata.workerRuntime`',
    readers: ['server'],
  }),
  TETHER_SANDBOX: variable(z.string().min(1).default('bwrap'), {
    default: '`bwrap`',
    doc: 'where the `shell` tool and terminals run: `bwrap` (bubblewrap namespaces; refused with a clear error when it cannot be made), `off` (explicit, loudly logged opt-out); containers always use `setuid:1000:1000` ([security](specs/security.md))',
    readers: ['server'],
  }),
  TETHER_WORK_ROOT: variable(optionalText, {
    default: '`<tmpdir>/tether-work-<hash>`',
    doc: "parent of the process runtime's work dirs (0700, never under the data dir)",
    readers: ['server'],
  }),
  TETHER_WORKER_NETWORK: variable(optionalText, {
    default: '`none`',
    doc: "docker containers' network: `none` (only Tether, through a unix socket) or an existing Docker network the operator made (egress proxy); `host` is refused",
    readers: ['server'],
  }),
  TETHER_WARM_POOL_SIZE: variable(nonNegativeInt.optional(), {
    default: '0 (process), 2 (docker)',
    doc: 'started idle workers of the default runtime waiting to claim a session',
    readers: ['server'],
  }),
  TETHER_WARM_POOL_SIZE_PROCESS: variable(nonNegativeInt.optional(), {
    default: '`0`',
    doc: "the process runtime's warm pool, whatever the default runtime",
    readers: ['server'],
  }),
  TETHER_WARM_POOL_SIZE_DOCKER: variable(nonNegativeInt.optional(), {
    default: '`2`',
    doc: "the docker runtime's warm pool, whatever the default runtime",
    readers: ['server'],
  }),
  TETHER_WORKER_HEARTBEAT_MS: variable(nonNegativeInt.optional(), {
    default: '`3000`',
    doc: 'agent-state heartbeat interval of workers',
    readers: ['server'],
  }),
  TETHER_WORKER_HEARTBEAT_MISSES: variable(nonNegativeInt.optional(), {
    default: '`5`',
    doc: 'heartbeat intervals a running worker may stay silent (e.g. hung, SIGSTOPped) before the supervisor kills and restarts it as a crash; `0`: never',
    readers: ['server'],
  }),
  TETHER_WORKER_MEMORY_MB: variable(nonNegativeInt.optional(), {
    default: '`512`',
    doc: "docker workers' memory limit",
    readers: ['server'],
  }),
  TETHER_WORKER_CPUS: variable(nonNegativeNumber.optional(), { default: '`1`', doc: "docker workers' CPU limit", readers: ['server'] }),
  TETHER_WORKER_IMAGE: variable(z.string().min(1).optional(), {
    default: 'built on first use',
    doc: 'use this image (e.g. from src/worker/Dockerfile) instead of building one',
    readers: ['server'],
  }),
  TETHER_WORKSPACE_SNAPSHOTS_KEEP: variable(intWithDefault(20), {
    default: '`20`',
    doc: "workspace snapshots (a copy of the work dir at each turn's end, for forks) kept per session, newest first; under `<data dir>/workspaces`, 0700",
    readers: ['server'],
  }),
  TETHER_WORKSPACE_SNAPSHOT_MAX_BYTES: variable(intWithDefault(256 * 1024 * 1024), {
    default: '`268435456`',
    doc: 'largest work dir a snapshot copies (above: no snapshot of that turn, logged; a fork there starts empty)',
    readers: ['server'],
  }),
  ...NODE_VARIABLES,
  DOCKER_HOST: variable(optionalText, {
    default: '`/var/run/docker.sock`, then `/run/tether-docker.sock`',
    doc: 'the Docker engine of the docker runtime',
    readers: ['server', 'tests'],
  }),
  ANTHROPIC_API_KEY: variable(optionalText, {
    default: '–',
    doc: "model provider key, read only by the server's model gateway, never passed to workers ([gateway](specs/gateway.md))",
    readers: ['server'],
  }),
  ANTHROPIC_BASE_URL: variable(optionalText, {
    default: '`https://api.anthropic.com`',
    doc: "the Anthropic API's endpoint (a proxy, a stub in tests)",
    readers: ['server'],
  }),
  TETHER_OPENAI_BASE_URL: variable(optionalText, {
    default: '–',
    doc: 'an OpenAI-compatible endpoint for `openai:` models (server only, like every provider setting)',
    readers: ['server'],
  }),
  TETHER_OPENAI_API_KEY: variable(optionalText, { default: '–', doc: "that endpoint's key (server only)", readers: ['server'] }),
  TETHER_MODEL_PRICES: variable(optionalText, {
    default: 'built-in table',
    doc: 'JSON `{"<provider:model>": {"inputPerMTokUsd": n, "outputPerMTokUsd": n}}` (longest prefix wins; checked at start); a model with no price is refused',
    readers: ['server'],
  }),
  TETHER_ROOT: variable(optionalText, {
    default: 'found from package.json',
    doc: 'the project root the worker bundler builds from (tooling and tests; read at call time through hostEnv)',
    readers: ['server', 'tests'],
    readme: false,
  }),
  LOG_LEVEL: variable(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'), {
    default: '`info`',
    doc: "the server log's level (pino)",
    readers: ['server'],
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: variable(z.url().optional(), {
    default: '– (traces off)',
    doc: 'OpenTelemetry: OTLP/HTTP base URL; set, the server sends traces (JSON, to `<url>/v1/traces`); unset, no tracing code is loaded',
    readers: ['server'],
  }),
  TETHER_OTEL_ENDPOINT: variable(z.url().optional(), {
    default: '–',
    doc: 'the same for Tether alone (wins over `OTEL_EXPORTER_OTLP_ENDPOINT`)',
    readers: ['server'],
  }),
} satisfies Record<string, Variable>

export type VariableName = keyof typeof VARIABLES

/** The parsed environment: each variable's zod output. */
export type ParsedEnv = { [K in VariableName]: z.output<(typeof VARIABLES)[K]['type']> }
