import { describe, expect, it } from 'vitest'
import { atomicSseBody, splitSseEvents } from '../../../../src/lib/sessions/client/sse-atomic'

function bodyFrom(chunks: string[], failAfter = false): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(encoder.encode(chunks[i++]))
      else if (failAfter) controller.error(new TypeError('network error'))
      else controller.close()
    },
  })
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let out = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return out
    out += decoder.decode(value, { stream: true })
  }
}

const data = (json: string) => `event: data\ndata: ${json}\n\n`
const control = (offset: string, upToDate = false) =>
  `event: control\ndata: {"streamNextOffset":"${offset}"${upToDate ? ',"upToDate":true' : ''}}\n\n`

describe('splitting SSE text into events', () => {
  it('keeps an unfinished event for later and accepts CRLF', () => {
    expect(splitSseEvents('event: data\ndata: 1\n\nevent: con')).toEqual({ events: ['event: data\ndata: 1'], rest: 'event: con' })
    expect(splitSseEvents('event: data\r\ndata: 1\r\n\r\n').events).toEqual(['event: data\ndata: 1'])
  })
})

describe('batch-atomic SSE body', () => {
  it('passes whole batches (data followed by their control event), however the bytes are split', async () => {
    const text = data('[{"a":1}]') + control('o1') + data('[{"a":2}]') + data('[{"a":3}]') + control('o2', true)
    const pieces = text.match(/[\s\S]{1,7}/g) ?? []
    const controls: string[] = []
    const out = await readAll(atomicSseBody(bodyFrom(pieces), undefined, { onControl: (c) => controls.push(c.streamNextOffset ?? '') }))
    expect(out).toBe(text)
    expect(controls).toEqual(['o1', 'o2'])
  })

  it('drops a batch cut off before its control event and ends cleanly, reporting the drop', async () => {
    const drops: string[] = []
    const out = await readAll(
      atomicSseBody(bodyFrom([data('[1]') + control('o1') + data('[2]') + 'event: con'], true), undefined, {
        onDrop: (r) => drops.push(r),
      }),
    )
    expect(out).toBe(data('[1]') + control('o1'))
    expect(drops).toEqual(['network error'])
  })

  it('does not report a drop when the reader itself aborted', async () => {
    const aborted = new AbortController()
    aborted.abort()
    const drops: string[] = []
    await readAll(atomicSseBody(bodyFrom([data('[1]') + control('o1')]), aborted.signal, { onDrop: (r) => drops.push(r) }))
    expect(drops).toEqual([])
  })

  it('errors with the reason when the reader aborts it mid-read (a paused tab), instead of ending as a drop', async () => {
    const abort = new AbortController()
    // A body that never ends by itself and errors when the request is aborted, as fetch's does.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(data('[1]') + control('o1')))
        abort.signal.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')))
      },
    })
    const drops: string[] = []
    const reader = atomicSseBody(body, abort.signal, { onDrop: (r) => drops.push(r) }).getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(data('[1]') + control('o1'))
    const next = reader.read()
    abort.abort('PAUSE_STREAM')
    await expect(next).rejects.toBe('PAUSE_STREAM')
    expect(drops).toEqual([])
  })

  it('ignores keep-alive comments', async () => {
    const out = await readAll(atomicSseBody(bodyFrom([': ping\n\n' + data('[1]') + control('o1')]), undefined))
    expect(out).toBe(data('[1]') + control('o1'))
  })
})
