/**
 * Fork positions (fork-point.ts) against the real built-in streams server: for every message
 * count n, the position found forks a stream whose content is exactly the source's first n
 * messages, whatever the appends look like (one message, many, unicode and JSON punctuation in
 * strings, whitespace the writer left between messages).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countJsonArrayElements, forkPositionAfter, readWholeStream } from '../../../src/lib/sessions/fork-point'
import { forkJsonStream } from '../../../src/lib/sessions/fork-stream'
import type { StreamsEndpoint } from '../../../src/lib/sessions/streams-client'
import { createStreamsServer, type StreamsServer } from '../../../src/lib/streams'

const enc = (s: string) => new TextEncoder().encode(s)

describe('countJsonArrayElements', () => {
  it('counts top-level elements only, whatever the strings and nesting hold', () => {
    expect(countJsonArrayElements(enc('[]'))).toBe(0)
    expect(countJsonArrayElements(enc('[ ]'))).toBe(0)
    expect(countJsonArrayElements(enc('[1]'))).toBe(1)
    expect(countJsonArrayElements(enc('[{"a":[1,2,{"b":","}]},"x,]}\\"",3 , null]'))).toBe(4)
    expect(countJsonArrayElements(enc('["é,ü","\\\\",[[],{}]]'))).toBe(3)
  })
})

describe('forkPositionAfter', () => {
  let server: StreamsServer
  let endpoint: StreamsEndpoint
  const appends: string[][] = [
    ['{"i":0}'],
    ['{"i":1,"t":"a,b]"}', '{"i":2}', '{"i":3,"t":"ünï ☃"}'],
    ['{"i":4}'],
    ['{"i":5}', ' {"i":6,"t":"\\"q\\""} ', '{"i":7}'],
    ['{"i":8}', '{"i":9}'],
  ]

  beforeAll(async () => {
    server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0 })
    endpoint = { transport: (req) => server.handle(req), baseUrl: 'http://local/s' }
    const put = await server.handle(new Request('http://local/s/src', { method: 'PUT', headers: { 'content-type': 'application/json' } }))
    expect(put.status).toBe(201)
    for (const batch of appends) {
      const res = await server.handle(
        new Request('http://local/s/src', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: `[${batch.join(',')}]`,
        }),
      )
      expect(res.status).toBeLessThan(300)
    }
  })
  afterAll(() => server.close())

  it('forks exactly the first n messages for every n', async () => {
    const snapshot = await readWholeStream(endpoint, 'src')
    expect(snapshot.events).toHaveLength(10)
    for (let n = 1; n <= 10; n++) {
      const position = await forkPositionAfter(endpoint, 'src', snapshot, n)
      await forkJsonStream(endpoint, `fork-${n}`, { sourcePath: 'src', ...position })
      const fork = await readWholeStream(endpoint, `fork-${n}`)
      expect(fork.events.map((e) => (e as { i: number }).i)).toEqual([...Array(n).keys()])
    }
  })
})
