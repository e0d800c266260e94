/**
 * Configuration for apps made in tests (createTetherServer / openTetherServer): the sessions
 * settings with timers off, and what every node of a PostgreSQL cluster must share.
 */
import type { SessionsConfig } from '../../src/lib/settings'

export function testSessionsConfig(over: Partial<SessionsConfig> = {}): SessionsConfig {
  return {
    auth: true,
    monitorIntervalMs: 0,
    ephemeralRemoveAfterMs: 60_000,
    retentionDays: 30,
    maxEventBodyBytes: 1 << 20,
    defaultLimits: {},
    ...over,
  }
}

/** The secrets nodes on one database share (TETHER_SECRET, TETHER_CREDENTIALS_KEY). */
export const SHARED_NODE_SECRETS = {
  secret: 'shared-secret-of-every-node-0123456789',
  credentialsKey: Buffer.alloc(32, 7).toString('base64'),
} as const

/** Sessions settings for a node on a shared PostgreSQL database. */
export const pgNodeSessions = (over: Partial<SessionsConfig> = {}): SessionsConfig => testSessionsConfig({ ...SHARED_NODE_SECRETS, ...over })
