import { createJsonLinesLogger, type Logger } from '../lib/common/logger'

import type { LogFn, LogLevel } from '../lib/common/logger'
export type { LogLevel } from '../lib/common/logger'

// Who this worker is (session, epoch), filled in once known; the logger reads it on every record.
const context: Record<string, unknown> = {}

export function setLogContext(fields: Record<string, unknown>): void {
  Object.assign(context, fields)
}

function jsonLines(level: LogLevel): Logger {
  return createJsonLinesLogger({ write: (line) => process.stderr.write(line), level, bindings: context })
}

let current = jsonLines('info')

/** Debug records on or off (TETHER_WORKER_DEBUG, parsed by loadWorkerSettings in main.ts). */
export function setLogDebug(on: boolean): void {
  current = jsonLines(on ? 'debug' : 'info')
}

/** One JSON line per log record on stderr (collected by the runtime's logs()). */
export const log: Logger = {
  debug: ((objOrMsg: object | string, msg?: string) => current.debug(objOrMsg as object, msg)) as LogFn,
  info: ((objOrMsg: object | string, msg?: string) => current.info(objOrMsg as object, msg)) as LogFn,
  warn: ((objOrMsg: object | string, msg?: string) => current.warn(objOrMsg as object, msg)) as LogFn,
  error: ((objOrMsg: object | string, msg?: string) => current.error(objOrMsg as object, msg)) as LogFn,
  child: (bindings) => current.child(bindings),
}
