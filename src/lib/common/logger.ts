/**
 * The one logger interface every module takes by injection. Pure and browser-safe (no node
 * imports, no `process`): the server passes pino (whose Logger satisfies this shape), the worker
 * program and the browser use the small implementations below.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface LogFn {
  (obj: object, msg?: string): void
  (msg: string): void
}

export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  child(bindings: Record<string, unknown>): Logger
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

/** Errors become plain fields (JSON.stringify drops an Error's own properties). */
function plain(value: unknown): unknown {
  return value instanceof Error ? { message: value.message, stack: value.stack } : value
}

function fieldsOf(obj: object): Record<string, unknown> {
  if (obj instanceof Error) return { err: plain(obj) }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) out[k] = plain(v)
  return out
}

type Sink = (level: LogLevel, msg: string, fields: Record<string, unknown>) => void

function build(sink: Sink, minLevel: LogLevel, bindings: () => Record<string, unknown>): Logger {
  const at =
    (level: LogLevel): LogFn =>
    (objOrMsg: object | string, msg?: string) => {
      if (RANK[level] < RANK[minLevel]) return
      if (typeof objOrMsg === 'string') sink(level, objOrMsg, bindings())
      else sink(level, msg ?? '', { ...bindings(), ...fieldsOf(objOrMsg) })
    }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => build(sink, minLevel, () => ({ ...bindings(), ...more })),
  }
}

export interface JsonLinesLoggerOptions {
  /** Receives one complete line (ending in '\n') per record. */
  write: (line: string) => void
  level?: LogLevel
  /**
   * Fields added to every record. Read at each call, not copied, so a program can fill in who
   * it is (session, epoch) after modules already hold the logger.
   */
  bindings?: Record<string, unknown>
  now?: () => Date
}

/** One JSON object per line: `{time, level, msg, ...bindings, ...fields}` (the worker's log format). */
export function createJsonLinesLogger(opts: JsonLinesLoggerOptions): Logger {
  const now = opts.now ?? (() => new Date())
  const root = opts.bindings ?? {}
  return build(
    (level, msg, fields) => opts.write(`${JSON.stringify({ time: now().toISOString(), level, msg, ...fields })}\n`),
    opts.level ?? 'info',
    () => root,
  )
}

/** Backed by the console's own levels (browser devtools, tests, servers started without pino). */
export function createConsoleLogger(
  opts: { level?: LogLevel; bindings?: Record<string, unknown>; console?: Pick<Console, LogLevel> } = {},
): Logger {
  const target = opts.console ?? console
  const root = opts.bindings ?? {}
  return build(
    (level, msg, fields) => (Object.keys(fields).length > 0 ? target[level](msg, fields) : target[level](msg)),
    opts.level ?? 'info',
    () => root,
  )
}

/** Discards everything (tests that do not read logs). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
}
