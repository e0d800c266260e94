/**
 * A lean SSE reader for the fan-out benchmark: HTTP/1.1 over a raw socket with a hand-written
 * chunked-encoding and event-stream parser. With 1,000 readers the load generator handles tens
 * of thousands of events per second on one core; undici's stream machinery cost several times
 * more per event, and its event-loop lag showed up as delivery latency.
 *
 * Reconnects from the last control event's offset if the server ends the response.
 */
import { connect, type Socket } from 'node:net'
import { StringDecoder } from 'node:string_decoder'

export interface SseReaderOptions {
  origin: string
  path: string
  offset: string
  signal: AbortSignal
  /** The text of every `data` event (a JSON array in JSON mode), with its chunk's arrival time. */
  onData(payload: string, receivedAt: number): void
  /** Called once the first response head arrives. */
  onConnected?(): void
  /** Extra request headers, e.g. authorization for the app's session streams. */
  headers?: Record<string, string>
}

export async function readSse(opts: SseReaderOptions): Promise<void> {
  const { hostname, port } = new URL(opts.origin)
  let offset = opts.offset
  let connected = false
  while (!opts.signal.aborted) {
    const outcome = await readOnce(hostname, Number(port), opts, offset, () => {
      if (!connected) {
        connected = true
        opts.onConnected?.()
      }
    })
    if (outcome.offset) offset = outcome.offset
    if (outcome.closed) return
  }
}

interface Outcome {
  offset?: string
  closed: boolean
}

function readOnce(host: string, port: number, opts: SseReaderOptions, offset: string, onHead: () => void): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port, noDelay: true })
    const outcome: Outcome = { closed: false }
    const decoder = new StringDecoder('utf8')
    let head: Buffer | null = Buffer.alloc(0) // null once the response head is parsed
    let chunked = false
    let pending: Buffer = Buffer.alloc(0) // undecoded chunked-encoding bytes
    let text = '' // decoded event-stream text not yet split into events
    let receivedAt = 0

    const onAbort = () => socket.destroy()
    opts.signal.addEventListener('abort', onAbort, { once: true })
    const finish = (err?: Error) => {
      opts.signal.removeEventListener('abort', onAbort)
      socket.destroy()
      if (err && !opts.signal.aborted) reject(err)
      else resolve(outcome)
    }

    const events = (s: string) => {
      text += s
      let end: number
      while ((end = text.indexOf('\n\n')) !== -1) {
        const event = text.slice(0, end)
        text = text.slice(end + 2)
        handleEvent(event, receivedAt, opts.onData, outcome)
      }
    }

    const body = (buf: Buffer) => {
      if (!chunked) return events(decoder.write(buf))
      pending = pending.length ? Buffer.concat([pending, buf]) : buf
      for (;;) {
        const lineEnd = pending.indexOf('\r\n')
        if (lineEnd === -1) return
        const size = parseInt(pending.toString('latin1', 0, lineEnd), 16)
        if (Number.isNaN(size)) return finish(new Error('bad chunk size'))
        if (size === 0) return finish()
        const start = lineEnd + 2
        if (pending.length < start + size + 2) return
        events(decoder.write(pending.subarray(start, start + size)))
        pending = pending.subarray(start + size + 2)
      }
    }

    socket.on('connect', () => {
      socket.write(
        `GET ${opts.path}?offset=${encodeURIComponent(offset)}&live=sse HTTP/1.1\r\n` +
          `Host: ${host}:${port}\r\nAccept: text/event-stream\r\n` +
          Object.entries(opts.headers ?? {})
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join('') +
          '\r\n',
      )
    })
    socket.on('data', (buf: Buffer) => {
      receivedAt = performance.now()
      if (head === null) return body(buf)
      head = Buffer.concat([head, buf])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      const lines = head.toString('latin1', 0, end).split('\r\n')
      const status = Number(lines[0].split(' ')[1])
      if (status !== 200) return finish(new Error(`SSE ${opts.path}: HTTP ${status}`))
      chunked = lines.some((l) => /^transfer-encoding:\s*chunked/i.test(l))
      const rest = head.subarray(end + 4)
      head = null
      onHead()
      if (rest.length) body(rest)
    })
    socket.on('error', (err) => finish(err))
    // 'close' also follows destroy() (abort), which emits neither 'end' nor 'error'.
    socket.on('close', () => finish())
  })
}

function handleEvent(event: string, receivedAt: number, onData: (payload: string, receivedAt: number) => void, outcome: Outcome): void {
  let type = 'message'
  let data = ''
  let lines = 0
  for (const raw of event.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.startsWith('event:')) type = line.slice(6).trim()
    else if (line.startsWith('data:')) {
      data += (lines++ ? '\n' : '') + line.slice(line[5] === ' ' ? 6 : 5)
    }
  }
  if (lines === 0) return
  if (type === 'data') onData(data, receivedAt)
  else if (type === 'control') {
    // Control events follow every data event: a cheap substring test instead of JSON.parse
    // for the common case, and a slice to pick up the offset.
    const at = data.indexOf('"streamNextOffset":"')
    if (at !== -1) outcome.offset = data.slice(at + 20, data.indexOf('"', at + 20))
    if (data.includes('"streamClosed":true')) outcome.closed = true
  }
}
