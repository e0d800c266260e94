/**
 * A minimal SSE reader for JSON-mode streams (PROTOCOL.md 5.8), parsed by hand over an undici
 * response body. Reconnects from the last control offset if the server ends the connection.
 */
import type { Pool } from 'undici'

export interface SseReaderOptions {
  pool: Pool
  path: string
  offset: string
  signal: AbortSignal
  /** Called for every message of every data event, with the time the chunk arrived. */
  onMessage(message: unknown, receivedAt: number): void
  /** Called once the first response headers arrive. */
  onConnected?(): void
}

export async function readSse(opts: SseReaderOptions): Promise<void> {
  let offset = opts.offset
  let connected = false
  while (!opts.signal.aborted) {
    let res
    try {
      res = await opts.pool.request({
        path: `${opts.path}?offset=${encodeURIComponent(offset)}&live=sse`,
        method: 'GET',
        signal: opts.signal,
      })
    } catch (err) {
      if (opts.signal.aborted) return
      throw err
    }
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new Error(`SSE ${opts.path}: HTTP ${res.statusCode}`)
    }
    if (!connected) {
      connected = true
      opts.onConnected?.()
    }
    res.body.setEncoding('utf8')
    let buf = ''
    let closed = false
    try {
      for await (const chunk of res.body as AsyncIterable<string>) {
        const receivedAt = performance.now()
        buf += chunk
        let end: number
        while ((end = buf.indexOf('\n\n')) !== -1) {
          const event = buf.slice(0, end)
          buf = buf.slice(end + 2)
          const next = handleEvent(event.replace(/\r/g, ''), receivedAt, opts.onMessage)
          if (next?.offset) offset = next.offset
          if (next?.closed) closed = true
        }
      }
    } catch (err) {
      if (opts.signal.aborted) return
      throw err
    }
    if (closed) return
  }
}

function handleEvent(
  event: string,
  receivedAt: number,
  onMessage: (m: unknown, t: number) => void,
): { offset?: string; closed?: boolean } | undefined {
  let type = 'message'
  const data: string[] = []
  for (const line of event.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim()
    else if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5))
  }
  if (data.length === 0) return undefined
  const payload = data.join('\n')
  if (type === 'data') {
    const parsed: unknown = JSON.parse(payload)
    if (Array.isArray(parsed)) for (const m of parsed) onMessage(m, receivedAt)
    else onMessage(parsed, receivedAt)
    return undefined
  }
  if (type === 'control') {
    const c = JSON.parse(payload) as { streamNextOffset?: string; streamClosed?: boolean }
    return { offset: c.streamNextOffset, closed: c.streamClosed === true }
  }
  return undefined
}
