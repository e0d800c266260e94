import { Writable } from 'node:stream'
import pino, { type Logger } from 'pino'

/** A real pino logger whose lines are kept in memory, so tests can assert on what was logged. */
export function captureLogger(): { logger: Logger; logs: string[] } {
  const logs: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString())
      cb()
    },
  })
  return { logger: pino({ level: 'info' }, sink), logs }
}
