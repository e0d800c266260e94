/**
 * Session-layer configuration from the environment (the streams server's own settings are in
 * src/lib/config.ts). Every field has a default so `npm run dev` works with no environment.
 */
import { z } from 'zod'
import type { SessionLimits } from './session-types'

const optionalInt = z
  .string()
  .regex(/^\d+$/, 'must be a non-negative integer')
  .transform(Number)
  .optional()
const optionalNumber = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a non-negative number')
  .transform(Number)
  .optional()
const intWithDefault = (fallback: number) => optionalInt.transform((v) => v ?? fallback)

const envSchema = z.object({
  TETHER_AUTH: z.enum(['on', 'off']).default('on'),
  /** Token signing secret; default: generated into <data dir>/secret on first start. */
  TETHER_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** External Durable Streams server base URL (stream paths are appended); unset = built-in. */
  TETHER_STREAMS_URL: z.url().optional(),
  /** Origin used in share links; default: the request's origin. */
  TETHER_PUBLIC_URL: z.url().optional(),
  TETHER_MONITOR_INTERVAL_MS: intWithDefault(5_000),
  TETHER_EPHEMERAL_REMOVE_AFTER_MS: intWithDefault(60_000),
  /** Session streams expire this long after their last read or write (sliding Stream-TTL). */
  TETHER_SESSION_RETENTION_DAYS: intWithDefault(30),
  TETHER_MAX_EVENT_BODY_BYTES: intWithDefault(1024 * 1024),
  TETHER_SESSION_MAX_IDLE_MS: optionalInt,
  TETHER_SESSION_MAX_LIFETIME_MS: optionalInt,
  TETHER_SESSION_MAX_BUDGET_USD: optionalNumber,
  TETHER_SESSION_MAX_TURNS: optionalInt,
})

export interface SessionsConfig {
  auth: boolean
  secret?: string
  streamsUrl?: string
  publicUrl?: string
  monitorIntervalMs: number
  ephemeralRemoveAfterMs: number
  retentionDays: number
  maxEventBodyBytes: number
  /** Overrides of the per-pattern default limits (0 = no limit). */
  defaultLimits: Partial<SessionLimits>
}

export function loadSessionsConfig(env: NodeJS.ProcessEnv = process.env): SessionsConfig {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
    throw new Error(`Invalid configuration: ${reasons}`)
  }
  const e = parsed.data
  const limit = (v: number | undefined) => (v === undefined ? undefined : v === 0 ? null : v)
  const defaultLimits: Partial<SessionLimits> = {}
  const entries: [keyof SessionLimits, number | undefined][] = [
    ['maxIdleTimeMs', e.TETHER_SESSION_MAX_IDLE_MS],
    ['maxLifetimeMs', e.TETHER_SESSION_MAX_LIFETIME_MS],
    ['maxBudgetUsd', e.TETHER_SESSION_MAX_BUDGET_USD],
    ['maxTurns', e.TETHER_SESSION_MAX_TURNS],
  ]
  for (const [k, v] of entries) {
    const l = limit(v)
    if (l !== undefined) defaultLimits[k] = l
  }
  return {
    auth: e.TETHER_AUTH === 'on',
    secret: e.TETHER_SECRET,
    streamsUrl: e.TETHER_STREAMS_URL?.replace(/\/+$/, ''),
    publicUrl: e.TETHER_PUBLIC_URL?.replace(/\/+$/, ''),
    monitorIntervalMs: e.TETHER_MONITOR_INTERVAL_MS,
    ephemeralRemoveAfterMs: e.TETHER_EPHEMERAL_REMOVE_AFTER_MS,
    retentionDays: e.TETHER_SESSION_RETENTION_DAYS,
    maxEventBodyBytes: e.TETHER_MAX_EVENT_BODY_BYTES,
    defaultLimits,
  }
}
