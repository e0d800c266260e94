import { createJsonLinesLogger, type Logger } from '../lib/common/logger'

export type { LogLevel } from '../lib/common/logger'

// Who this worker is (session, epoch), filled in once known; the logger reads it on every record.
const context: Record<string, unknown> = {}

export function setLogContext(fields: Record<string, unknown>): void {
  Object.assign(context, fields)
}

/** One JSON line per log record on stderr (collected by the runtime's logs()). */
export const log: Logger = createJsonLinesLogger({
  write: (line) => process.stderr.write(line),
  level: process.env.TETHER_WORKER_DEBUG ? 'debug' : 'info',
  bindings: context,
})
