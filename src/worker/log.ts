/** One JSON line per log record on stderr (collected by the runtime's logs()). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const context: Record<string, unknown> = {}

export function setLogContext(fields: Record<string, unknown>): void {
  Object.assign(context, fields)
}

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (level === 'debug' && !process.env.TETHER_WORKER_DEBUG) return
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...context, ...fields })}\n`)
}
