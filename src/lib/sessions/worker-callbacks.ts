/**
 * How the session layer tells the worker supervisor (src/lib/workers) what happened. Every callback
 * is optional; errors are logged and never fail the API call that triggered them. Callbacks are
 * awaited, so keep them quick (signal a worker, don't wait for it to drain).
 */
import type { LeaseStore } from '../workers/session-leases'
import type { ReadinessCheck } from '../ops/readiness'
import type { WorkerMetrics } from '../ops/metrics-workers'
import type { Role } from './tokens'
import type { EndReason, SessionRecord } from './session-types'

export interface SessionWorkerCallbacks {
  /** A session was created (its stream exists and is empty). Start its worker(s). */
  onSessionCreated?(session: SessionRecord): void | Promise<void>
  /**
   * A session ended (status completed / failed / terminated, reason e.g. 'terminated',
   * 'limit:budget', 'completed', 'deleted'). Its stream is already closed and carries an
   * agent-state control event `{kind:'control', action:'stop', reason}`. Stop its worker(s).
   */
  onSessionEnded?(session: SessionRecord, reason: EndReason): void | Promise<void>
  /**
   * A live session's agent list or routing changed (issue #15; the new roster is in its stream,
   * with a stop control for each removed agent): start or stop per-agent workers.
   */
  onSessionAgentsChanged?(session: SessionRecord): void | Promise<void>
  /** A hybrid session hit its idle limit: status 'idle', stream open, a stop control event written. */
  onSessionSuspended?(session: SessionRecord): void | Promise<void>
  /** A suspended (idle) hybrid session got new activity and is active again: restart its worker. */
  onSessionResumed?(session: SessionRecord): void | Promise<void>
  /**
   * Level-triggered: called once at start and after every monitor tick with every session whose
   * status is 'active'. Start missing workers, stop workers of sessions not in the list.
   */
  reconcile?(activeSessions: SessionRecord[]): void | Promise<void>
  /** A worker's agent-state heartbeat reached the gate (workers/health.ts acts on silent workers). */
  /** `agentIds`: the agents whose heartbeats were in the append (per-agent workers, issue #15). */
  onAgentHeartbeat?(sessionId: string, agentIds?: readonly string[]): void
  /** Called by app.close(). */
  close?(): void | Promise<void>
  /** Readiness of the workers' side (`GET /api/ready`): runtime reachable, pool state. */
  readiness?(): Promise<ReadinessCheck[]>
  /** Several nodes on one database: this node's id in the lease table once its keeper runs (null on one node). */
  leaseState?(): { nodeId: string } | null
  /** A session's record and stream were deleted: drop what is kept for it (workspace snapshots). */
  onSessionRemoved?(sessionId: string): void | Promise<void>
  /**
   * Copies the session's work dir as its workspace snapshot of `turn` (workers/workspaces.ts).
   * Throws WorkspaceUnavailableError (no running worker) or WorkspaceTooLargeError (over the limit).
   */
  snapshotWorkspace?(sessionId: string, turn: number, info?: { offset?: string }): Promise<{ turn: number; bytes: number }>
  /** The kept snapshot of the session's `turn` (a fork there starts with its files), or null. */
  workspaceSnapshot?(sessionId: string, turn: number): { offset?: string } | null
}

/** What a callbacks factory gets from the app, e.g. to mint worker tokens. */
export interface WorkerCallbackContext {
  /** Signs a token for a session (worker tokens need `subject` = agent id). */
  issueToken(opts: { role: Role; sessionId: string; subject?: string; ttlSeconds?: number }): Promise<string>
  /** Absolute URL of a session's stream as workers should read/append it (auth via Bearer token). */
  sessionStreamUrl(sessionId: string): string
  /** Absolute URL of the event writer (`POST <url>?sessionId=…`). */
  writerUrl: string
  /** Observes the worker runtimes the factory creates (GET /metrics); absent when metrics are off. */
  workerMetrics?: WorkerMetrics
  /** A session's worker died unasked (the `worker.crashed` lifecycle event); it is being restarted. */
  onWorkerCrashed?(crash: WorkerCrash): void
  /**
   * Set when several nodes share the database (PostgreSQL): the session leases that decide which
   * node runs each session's worker (src/lib/workers/session-leases.ts). Absent: this node runs all.
   */
  leaseStore?: LeaseStore
  /** A session's record by id (a node offered a session it never saw starts its worker at once). */
  sessionOf?(sessionId: string): Promise<SessionRecord | null>
}

export interface WorkerCrash {
  sessionId: string
  runtime: string
  exitCode: number | null
  /** Crashes in a row (reset after a worker ran long enough), and the delay before its restart. */
  crashes: number
  restartInMs: number
}

export type SessionWorkerCallbacksInput = SessionWorkerCallbacks | ((ctx: WorkerCallbackContext) => SessionWorkerCallbacks)

export const noopCallbacks: SessionWorkerCallbacks = {}
