/**
 * Session limits: per-pattern defaults and the pure check the monitor runs.
 */
import { isBusy, usageOf, type SessionFold } from './fold'
import type { SessionLimits, SessionLimitsInput, SessionPattern, SessionRecord } from './session-types'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** Defaults when a create request leaves a limit out (null = no limit). */
export const PATTERN_DEFAULT_LIMITS: Record<SessionPattern, SessionLimits> = {
  ephemeral: { maxIdleTimeMs: 15 * MINUTE, maxLifetimeMs: 2 * HOUR, maxBudgetUsd: null, maxTurns: null },
  'long-running': { maxIdleTimeMs: null, maxLifetimeMs: null, maxBudgetUsd: null, maxTurns: null },
  hybrid: { maxIdleTimeMs: 30 * MINUTE, maxLifetimeMs: null, maxBudgetUsd: null, maxTurns: null },
  'single-container': { maxIdleTimeMs: null, maxLifetimeMs: null, maxBudgetUsd: null, maxTurns: null },
}

export function resolveLimits(
  pattern: SessionPattern,
  input: SessionLimitsInput | undefined,
  overrides: Partial<SessionLimits> = {},
): SessionLimits {
  const base = { ...PATTERN_DEFAULT_LIMITS[pattern] }
  for (const k of Object.keys(overrides) as (keyof SessionLimits)[]) {
    if (overrides[k] !== undefined) base[k] = overrides[k] as number | null
  }
  return {
    maxIdleTimeMs: input?.maxIdleTimeMs !== undefined ? input.maxIdleTimeMs : base.maxIdleTimeMs,
    maxLifetimeMs: input?.maxLifetimeMs !== undefined ? input.maxLifetimeMs : base.maxLifetimeMs,
    maxBudgetUsd: input?.maxBudgetUsd !== undefined ? input.maxBudgetUsd : base.maxBudgetUsd,
    maxTurns: input?.maxTurns !== undefined ? input.maxTurns : base.maxTurns,
  }
}

export type LimitName = 'idle' | 'lifetime' | 'budget' | 'turns'

/**
 * The first limit the session has passed, or null. Budget and turns are reached at the limit
 * (cost >= budget, turns >= max); idle counts from the last activity (or creation) and only
 * while nothing is in flight (no open tool call, no agent starting / thinking / running a tool).
 */
export function passedLimit(session: SessionRecord, fold: SessionFold, now: number): LimitName | null {
  const { limits } = session
  const usage = usageOf(fold)
  if (limits.maxBudgetUsd !== null && usage.costUsd >= limits.maxBudgetUsd) return 'budget'
  if (limits.maxTurns !== null && usage.turns >= limits.maxTurns) return 'turns'
  if (limits.maxLifetimeMs !== null && now - session.createdAt >= limits.maxLifetimeMs) return 'lifetime'
  if (limits.maxIdleTimeMs !== null && session.status === 'active' && !isBusy(fold)) {
    // A suspended hybrid session resumes only on activity, so lastActivityAt covers resumes too.
    const since = Math.max(usage.lastActivityAt ?? 0, session.createdAt)
    if (now - since >= limits.maxIdleTimeMs) return 'idle'
  }
  return null
}
