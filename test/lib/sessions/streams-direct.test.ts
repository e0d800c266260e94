/**
 * The built-in server's direct append (streams-direct.ts) against the protocol path it replaces
 * on the session layer's hot path: the same stored bytes, offsets and refusals, as the same
 * streams-client errors. Each case runs on one endpoint with `append` and one without (a
 * protocol POST through the server's handler), on one real SQLite streams server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  appendJson,
  closeStream,
  createJsonStream,
  deleteStream,
  readJsonToTail,
  StreamClosedError,
  StreamNotFoundError,
  StreamsProtocolError,
  type StreamsEndpoint,
} from '../../../src/lib/sessions/streams-client'
import { directAppend } from '../../../src/lib/sessions/streams-direct'
import { createStreamsServer, type StreamsServer } from '../../../src/lib/streams'

let server: StreamsServer
let viaProtocol: StreamsEndpoint
let direct: StreamsEndpoint
const paths = { protocol: 'p', direct: 'd' } as const
const both = () => [
  { name: 'protocol', ep: viaProtocol, root: paths.protocol },
  { name: 'direct', ep: direct, root: paths.direct },
]

async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await run() }
  } catch (err) {
    if (err instanceof StreamClosedError) return { closed: err.tailOffset }
    if (err instanceof StreamNotFoundError) return { notFound: true }
    if (err instanceof StreamsProtocolError) return { status: err.status, body: JSON.parse(err.body) as unknown }
    throw err
  }
}

beforeAll(() => {
  server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0 })
  viaProtocol = { transport: (req) => server.handle(req), baseUrl: 'http://x/s' }
  direct = { ...viaProtocol, append: directAppend(server.access) }
})
afterAll(() => server.close())

describe('direct append (built-in server) vs protocol POST', () => {
  it('stores the same messages at the same offsets', async () => {
    const results = []
    for (const { ep, root } of both()) {
      await createJsonStream(ep, `${root}/a`)
      const first = await appendJson(ep, `${root}/a`, [{ n: 1 }, { n: 2 }])
      const second = await appendJson(ep, `${root}/a`, [{ text: 'ünïcode ✓' }])
      results.push({ first, second, read: await readJsonToTail(ep, `${root}/a`) })
    }
    expect(results[1]).toEqual(results[0])
    expect(results[0]!.read.messages).toEqual([{ n: 1 }, { n: 2 }, { text: 'ünïcode ✓' }])
  })

  it('closes through the protocol even when a direct append exists (close is not a plain append)', async () => {
    await createJsonStream(direct, 'd/close-with-append')
    const offset = await appendJson(direct, 'd/close-with-append', [{ last: true }], { close: true })
    const read = await readJsonToTail(direct, 'd/close-with-append')
    expect(read).toMatchObject({ closed: true, nextOffset: offset, messages: [{ last: true }] })
  })

  it('refuses a closed stream with StreamClosedError and its tail, like the protocol answer', async () => {
    const seen = []
    for (const { ep, root } of both()) {
      await createJsonStream(ep, `${root}/closed`)
      await appendJson(ep, `${root}/closed`, [{ n: 1 }])
      await closeStream(ep, `${root}/closed`)
      seen.push(await outcome(() => appendJson(ep, `${root}/closed`, [{ n: 2 }])))
    }
    expect(seen[0]).toMatchObject({ closed: expect.any(String) })
    expect(seen[1]).toEqual(seen[0])
  })

  it('refuses a missing or deleted stream with StreamNotFoundError', async () => {
    for (const { ep, root } of both()) {
      expect(await outcome(() => appendJson(ep, `${root}/never`, [{ n: 1 }]))).toEqual({ notFound: true })
      await createJsonStream(ep, `${root}/gone`)
      await deleteStream(ep, `${root}/gone`)
      expect(await outcome(() => appendJson(ep, `${root}/gone`, [{ n: 1 }]))).toEqual({ notFound: true })
    }
  })

  it('passes other refusals on as StreamsProtocolError with the status and code of the protocol answer', async () => {
    const seen = []
    for (const { ep, root } of both()) {
      // A stream of another content type: the append's JSON is refused (409 CONTENT_TYPE_MISMATCH).
      const put = await ep.transport(new Request(`http://x/s/${root}/text`, { method: 'PUT', headers: { 'content-type': 'text/plain' } }))
      expect(put.status).toBe(201)
      seen.push(await outcome(() => appendJson(ep, `${root}/text`, [{ n: 1 }])))
      // An empty JSON array cannot be appended (400 EMPTY_JSON_ARRAY).
      await createJsonStream(ep, `${root}/empty`)
      seen.push(await outcome(() => appendJson(ep, `${root}/empty`, [])))
    }
    expect(seen[0]).toMatchObject({ status: 409, body: { error: { code: 'CONTENT_TYPE_MISMATCH' } } })
    expect(seen[1]).toMatchObject({ status: 400, body: { error: { code: 'EMPTY_JSON_ARRAY' } } })
    expect(seen.slice(2)).toEqual(seen.slice(0, 2))
  })
})
