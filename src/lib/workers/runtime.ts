/**
 * The WorkerRuntime interface: how the supervisor starts, claims, restarts, stops and observes
 * agent workers, whatever they run in (a child process, a Docker container).
 */
import { hostEnv } from '../settings/host-env'
import type { ClaimSession } from './claim-session'
export type RuntimeKind = 'process' | 'docker'
export const RUNTIME_KINDS: readonly RuntimeKind[] = ['process', 'docker']

/** What a worker needs to serve a session: nothing else from the host. */
export interface WorkerClaim {
  sessionId: string
  /** Base URL of the Tether server (the worker appends /api/streams/sessions/<id>). */
  serverUrl: string
  /** Worker-scoped token for this session (Bearer). */
  token: string
  /**
   * The one agent this worker serves when the session runs one worker per agent (issue #15) and
   * it is not the default agent's: names and labels get it (`…--<agentId>`). Absent for the
   * session's main worker. The worker itself reads its agent from the token's subject, and
   * parseClaim ignores this field.
   */
  agentId?: string
  /**
   * Memory the worker needs over the runtime's base limit for the agent programs it hosts
   * (worker-memory.ts). The docker runtime raises the container's limit by it; the process
   * runtime has no per-worker limit. Never sent to the worker.
   */
  extraMemoryBytes?: number
  /**
   * The producer epoch of the worker's producers when its session runs under a lease (issue 14,
   * session-leases.ts leaseEpoch): sent to the worker (env, or the claim line), which then uses it
   * instead of deriving one from the stream.
   */
  epoch?: number
  /**
   * The session's setup as the worker would fetch it (claim-session.ts), set when the claim is
   * made from the session record: a claimed warm worker starts from it instead of asking the app
   * (issue #13: the first heartbeat waits only for the stream). Only the claim line on stdin
   * carries it; a worker started with env (claimEnv) fetches the record itself.
   */
  session?: ClaimSession
}

export interface WorkerInfo {
  /** Runtime-specific handle (process: `w_…`; docker: the container name). */
  id: string
  runtime: RuntimeKind
  /** The session it serves; null for an idle warm-pool worker. */
  sessionId: string | null
  /** The claim's agentId (a per-agent worker that is not the session's main one); null otherwise. */
  agentId?: string | null
  running: boolean
  exitCode: number | null
  /** Epoch ms of the last start. */
  startedAt: number
  /** Where the worker keeps its files (host path, or volume name for docker). */
  workDir: string
  /** Container id or process id, for people and tests. */
  nativeId: string
  /** Started by an earlier run of the server (found by list() at start-up). */
  leftover?: boolean
}

export interface WorkerExit {
  id: string
  /** Container id / pid of the instance that exited (a restarted worker keeps its id, not this). */
  nativeId: string
  sessionId: string | null
  exitCode: number | null
  signal?: string | null
}

export interface LogOptions {
  /** Last N lines (default all kept). */
  tail?: number
}

/** How a new worker starts. */
export interface StartOptions {
  /** A workspace snapshot dir (workspaces.ts) copied into the new work dir before the worker runs. */
  seedFrom?: string
}

export interface WorkerRuntime {
  readonly kind: RuntimeKind
  /** Starts a new worker for `claim`, or an idle warm-pool worker when no claim is given. */
  start(claim?: WorkerClaim, options?: StartOptions): Promise<WorkerInfo>
  /**
   * Copies the worker's work dir into `dest` (an empty private dir on the host) for a workspace
   * snapshot; answers the bytes read. Refuses (WorkspaceTooLargeError) a work dir over `maxBytes`.
   * Optional: a runtime without it has no snapshots (forks then start empty).
   */
  snapshotWorkspace?(id: string, dest: string, maxBytes: number): Promise<number>
  /** Hands an idle warm worker its session; it starts serving at once. */
  claim(id: string, claim: WorkerClaim): Promise<WorkerInfo>
  /** Starts a worker that exited again, in the same work dir, with a (fresh) claim. */
  restart(id: string, claim: WorkerClaim): Promise<WorkerInfo>
  /**
   * Sets a running worker's memory to the base limit plus `extraMemoryBytes` (its session's
   * agents changed). Optional: a runtime without per-worker limits has nothing to resize.
   */
  resize?(id: string, extraMemoryBytes: number): Promise<void>
  /** SIGKILLs a worker that is alive but silent (health.ts); its exit is then a crash like any other. */
  kill?(id: string): Promise<void>
  /** Stops the worker (SIGTERM, then SIGKILL after the grace period) and removes it and its work dir. */
  stop(id: string, options?: { graceMs?: number }): Promise<void>
  inspect(id: string): Promise<WorkerInfo | null>
  /** Every worker this runtime manages, including ones left by an earlier server run (docker). */
  list(): Promise<WorkerInfo[]>
  logs(id: string, options?: LogOptions): Promise<string>
  /** Called whenever a worker exits (crash, stop, or on its own). */
  onExit(listener: (exit: WorkerExit) => void): () => void
  /** Releases the runtime's own resources (event streams); workers are left as they are. */
  close(): Promise<void>
}

/**
 * Environment variables a runtime forwards from the server into workers: none. Provider keys and
 * endpoints stay in the server, which calls models for workers (src/lib/gateway, issue #8); a
 * worker, and anything its tools or terminal run, has nothing to leak. Kept as the one place a
 * future, non-secret setting would be added.
 */
export const FORWARDED_ENV_KEYS: readonly string[] = []

export function forwardedEnv(env: Readonly<Record<string, string | undefined>> = hostEnv()): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of FORWARDED_ENV_KEYS) if (env[key]) out[key] = env[key]
  return out
}

/**
 * Node flags every worker runs with (process: spawn arguments; docker: the container's
 * entrypoint), for density (issue #13, specs/benchmarks.md). Flags, not NODE_OPTIONS: programs
 * the worker starts (Claude Code, OpenCode's tools, a user's `node` in the terminal) must not
 * inherit them.
 *   - `--max-semi-space-size=1`: the young generation grows to 2 × 16 MiB under allocation bursts
 *     (a streamed answer) and V8 keeps it; 1 MiB semi-spaces cost a few more scavenges.
 *   - `--max-old-space-size=256`: a cap, not a saving (an idle worker's heap is ~10 MiB, far under
 *     any limit's first GC threshold): a process worker has no other per-worker memory limit, so
 *     a runaway one ends (and restarts) instead of taking the host's memory. The conversation the
 *     worker replays lives here; tool results are capped at 64 KiB each, so a session needs
 *     thousands of large ones to come near it.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--max-old-space-size=256']

/** Claim → the worker's identity variables. */
export function claimEnv(claim: WorkerClaim): Record<string, string> {
  const env: Record<string, string> = { TETHER_SESSION_ID: claim.sessionId, TETHER_SERVER_URL: claim.serverUrl, TETHER_WORKER_TOKEN: claim.token }
  if (claim.epoch !== undefined) env.TETHER_PRODUCER_EPOCH = String(claim.epoch)
  return env
}
