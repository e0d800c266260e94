/**
 * Whether an error means the database cannot be reached right now (PostgreSQL down, restarting,
 * refusing connections, a connection cut) rather than a bug or bad input. Such a request is
 * answered 503 with Retry-After, which clients and load balancers retry, instead of 500.
 * Looks through `cause` chains (drizzle wraps the driver's error).
 */
const CONNECTION_CODES = new Set([
  // postgres.js
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  // Node sockets
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  // PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
  '57P01',
  '57P02',
  '57P03',
  '53300',
])

export function databaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = String((e as { code?: unknown }).code ?? '')
    if (CONNECTION_CODES.has(code) || code.startsWith('08')) return true
    // 55000 is broad (object not in prerequisite state); only its "not accepting connections" case counts.
    if (code === '55000' && /accepting connections/.test(String((e as { message?: unknown }).message))) return true
  }
  return false
}

/** Seconds a client should wait before retrying a request the database could not serve. */
export const DATABASE_RETRY_AFTER_S = 1
