/**
 * The answer of `GET /api/sessions/stats/summary` (src/lib/ops/stats-summary.ts), shared with the
 * admin dashboard (src/app/routes/admin/stats.tsx). Plain data: no server code, so the browser
 * bundle can import it.
 */
import type { SessionPattern, SessionStatus } from '../sessions/session-types'

export type StatsBucket = 'hour' | 'day'

/** Usage over a set of model calls (the gateway's ledger, table model_calls). */
export interface UsageFigures {
  /** Calls the gateway made or is making (refused calls are not counted). */
  calls: number
  tokensIn: number
  tokensOut: number
  /** Settled costs plus the reserved worst case of calls still running. */
  costUsd: number
}

/** One time bucket: [t, t + bucket). */
export interface StatsPoint extends UsageFigures {
  /** Bucket start, epoch ms (UTC hours / days). */
  t: number
  /** Sessions created in the bucket, all and by pattern. */
  created: number
  createdByPattern: Record<SessionPattern, number>
  /** Sessions that ended in the bucket, by their final status. */
  ended: number
  endedByStatus: Record<'completed' | 'failed' | 'terminated', number>
  /** Sessions not ended (active or idle) at the bucket's end (or at `to`, for the last one). */
  live: number
}

export interface UsageRow extends UsageFigures {
  /** Model (`provider:model`) or user id; null user = a session without a creator, or deleted. */
  key: string | null
}

export interface TopSession extends UsageFigures {
  id: string
  /** Null when the session was deleted (its ledger rows are kept). */
  title: string | null
  status: SessionStatus | null
  pattern: SessionPattern | null
  createdBy: string | null
}

export interface StatsSummary {
  range: { from: number; to: number; bucket: StatsBucket }
  generatedAt: number
  sessions: {
    /** Right now, over all sessions. */
    now: { total: number; active: number; idle: number }
    /** Sessions created in the range: how many, and their current status and pattern. */
    created: number
    byStatus: Record<SessionStatus, number>
    byPattern: Record<SessionPattern, number>
    /** Sessions that ended in the range, by end reason (the 20 most frequent). */
    ended: number
    endedByReason: Array<{ reason: string; count: number }>
  }
  workers: {
    /** Active sessions whose agent names a model or provider: each has a worker (or one starting). */
    active: number
    source: 'sessions'
  }
  /** Model calls started in the range. */
  usage: UsageFigures & {
    byModel: UsageRow[]
    byUser: UsageRow[]
  }
  series: StatsPoint[]
  /** The 10 sessions that spent most on model calls started in the range. */
  topSessions: TopSession[]
  errors: {
    /** Of the sessions that ended in the range, those that ended `failed`. */
    sessionsFailed: number
    sessionFailureRate: number
    /** Model calls in the range that ended in a provider error. */
    modelErrors: number
    modelErrorRate: number
    /**
     * Worker restarts after a crash, as each worker wrote it in its session's agent-state
     * (`restarts`), summed over the sessions with an agent created in the range.
     */
    workerRestarts: number
    sessionsWithAgent: number
    /** workerRestarts / sessionsWithAgent. */
    crashRate: number
    /** More sessions with an agent than are scanned (the newest are): restarts are a lower bound. */
    restartsTruncated: boolean
  }
}
