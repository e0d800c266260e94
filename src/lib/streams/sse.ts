/**
 * Server-Sent Events framing (PROTOCOL §5.8). Every payload line terminator (CRLF, CR or LF)
 * starts a new `data:` line, so stream content can never inject an event boundary. No space
 * after `data:`: clients strip exactly one, which would eat a payload's leading space.
 * Works on bytes: UTF-8 multi-byte sequences never contain CR or LF bytes.
 */

const DATA_EVENT_HEAD = Buffer.from('event: data\ndata:')
const CONTROL_EVENT_HEAD = Buffer.from('event: control\ndata:')
const LINE_BREAK = Buffer.from('\ndata:')
const EVENT_END = Buffer.from('\n\n')

export interface ControlFields {
  streamNextOffset: string
  streamCursor?: string
  upToDate?: boolean
  streamClosed?: boolean
}

/** Splits payload bytes on CR, LF and CRLF and frames each piece as a `data:` line. */
function framePayload(head: Buffer, payload: Uint8Array): Buffer {
  const parts: Uint8Array[] = [head]
  let lineStart = 0
  for (let i = 0; i < payload.length; i++) {
    const c = payload[i]
    if (c !== 0x0a && c !== 0x0d) continue
    parts.push(payload.subarray(lineStart, i), LINE_BREAK)
    if (c === 0x0d && payload[i + 1] === 0x0a) i++
    lineStart = i + 1
  }
  parts.push(payload.subarray(lineStart), EVENT_END)
  return Buffer.concat(parts)
}

/** An `event: data` frame. Binary streams pass base64 text (no line breaks to split). */
export function sseDataEvent(payload: Uint8Array): Buffer {
  return framePayload(DATA_EVENT_HEAD, payload)
}

export function sseControlEvent(fields: ControlFields): Buffer {
  return Buffer.concat([CONTROL_EVENT_HEAD, Buffer.from(JSON.stringify(fields)), EVENT_END])
}

/** Binary streams are base64 encoded in SSE; text/* and application/json are sent as text. */
export function needsBase64(contentType: string): boolean {
  const essence = contentType.split(';')[0]!.trim().toLowerCase()
  return !(essence.startsWith('text/') || essence === 'application/json')
}
