/**
 * The load generator's HTTP client: undici Pools (keep-alive connections, no fetch overhead).
 * Every helper consumes the response body so the connection can be reused.
 */
import { Pool } from 'undici'

export const JSON_TYPE = 'application/json'

export function makePool(origin: string, connections: number, pipelining = 1): Pool {
  return new Pool(origin, {
    connections,
    pipelining,
    keepAliveTimeout: 60_000,
    // SSE responses stay open for the whole run.
    bodyTimeout: 0,
    headersTimeout: 60_000,
  })
}

export interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
}

export async function createStream(pool: Pool, path: string, contentType = JSON_TYPE): Promise<void> {
  const res = await pool.request({ path, method: 'PUT', headers: { 'content-type': contentType } })
  await res.body.dump()
  if (res.statusCode !== 201 && res.statusCode !== 200) {
    throw new Error(`PUT ${path}: HTTP ${res.statusCode}`)
  }
}

export async function append(pool: Pool, path: string, body: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await pool.request({
    path,
    method: 'POST',
    headers: { 'content-type': JSON_TYPE, ...headers },
    body,
  })
  await res.body.dump()
  return { status: res.statusCode, headers: res.headers }
}

export function header(reply: Reply, name: string): string | undefined {
  const v = reply.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function forEachLimited(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}

/** Creates `count` JSON streams named `<prefix>-<i>` (returns their URL paths). */
export async function createStreams(pool: Pool, streamPath: (p: string) => string, prefix: string, count: number): Promise<string[]> {
  const paths = Array.from({ length: count }, (_, i) => streamPath(`${prefix}-${i}`))
  await forEachLimited(count, 16, (i) => createStream(pool, paths[i]))
  return paths
}
