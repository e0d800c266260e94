/**
 * Creates a session stream as a zero-copy fork of another at a fork position (fork-point.ts):
 * `PUT` with `Stream-Forked-From` (the source's URL path on the same server, PROTOCOL §4.2),
 * `Stream-Fork-Offset` and `Stream-Fork-Sub-Offset`. The fork starts open even when its source
 * is closed (an ended session can be forked).
 */
import { JSON_CONTENT_TYPE, type StreamsEndpoint, StreamsProtocolError, streamUrl } from './streams-client'

export interface StreamForkSpec {
  /** The source stream's path relative to the streams root (`sessions/<id>`). */
  sourcePath: string
  offset: string
  subOffset: number
}

/** Forks and answers the fork's tail offset (where its own events will begin). */
export async function forkJsonStream(endpoint: StreamsEndpoint, path: string, spec: StreamForkSpec, ttlSeconds?: number): Promise<string> {
  const headers: Record<string, string> = {
    'content-type': JSON_CONTENT_TYPE,
    'stream-forked-from': new URL(streamUrl(endpoint, spec.sourcePath)).pathname,
    'stream-fork-offset': spec.offset,
  }
  if (spec.subOffset > 0) headers['stream-fork-sub-offset'] = String(spec.subOffset)
  if (ttlSeconds !== undefined) headers['stream-ttl'] = String(ttlSeconds)
  const res = await endpoint.transport(new Request(streamUrl(endpoint, path), { method: 'PUT', headers }))
  const body = await res.text().catch(() => '')
  if (res.status !== 201) throw new StreamsProtocolError(path, res.status, body)
  return res.headers.get('stream-next-offset') ?? (await streamTail(endpoint, path))
}

/** A stream's tail offset now (HEAD). */
export async function streamTail(endpoint: StreamsEndpoint, path: string): Promise<string> {
  const head = await endpoint.transport(new Request(streamUrl(endpoint, path), { method: 'HEAD' }))
  await head.body?.cancel()
  const offset = head.headers.get('stream-next-offset')
  if (!offset) throw new StreamsProtocolError(path, head.status, 'HEAD answered without Stream-Next-Offset')
  return offset
}
