import { describe, expect, it } from 'vitest'
import { needsBase64, sseControlEvent, sseDataEvent } from '../../../src/lib/streams/sse'

const text = (b: Buffer) => b.toString('utf8')

describe('SSE framing', () => {
  it('frames a payload as a data event without a space after data:', () => {
    expect(text(sseDataEvent(Buffer.from(' hi')))).toBe('event: data\ndata: hi\n\n')
  })

  it('turns every CR, LF and CRLF into a new data: line so payloads cannot inject events', () => {
    const framed = text(sseDataEvent(Buffer.from('a\r\n\r\nevent: control\rdata: x\nb')))
    expect(framed).toBe('event: data\ndata:a\ndata:\ndata:event: control\ndata:data: x\ndata:b\n\n')
    // Exactly one event boundary, at the end.
    expect(framed.split('\n\n')).toHaveLength(2)
    expect(framed).not.toContain('\r')
  })

  it('encodes control events as one JSON line', () => {
    const framed = text(sseControlEvent({ streamNextOffset: 'o', streamCursor: '7', upToDate: true }))
    expect(framed).toBe('event: control\ndata:{"streamNextOffset":"o","streamCursor":"7","upToDate":true}\n\n')
  })

  it('base64-encodes everything except text/* and application/json', () => {
    expect(needsBase64('text/plain; charset=utf-8')).toBe(false)
    expect(needsBase64('application/json')).toBe(false)
    expect(needsBase64('application/octet-stream')).toBe(true)
    expect(needsBase64('image/png')).toBe(true)
  })
})
