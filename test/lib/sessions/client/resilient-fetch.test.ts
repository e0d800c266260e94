/**
 * The read path's reconnect policy, driven through its injectable base fetch (the network is the
 * one thing replaced here; the browser tests run it against the real server).
 */
import { describe, expect, it } from 'vitest'
import { ConnectionStatusStore } from '../../../../src/lib/sessions/client/connection-status'
import { createResilientFetch } from '../../../../src/lib/sessions/client/resilient-fetch'

const fast = { initialMs: 1, maxMs: 4, multiplier: 2 }

describe('resilient fetch', () => {
  it('retries network errors and 5xx with backoff, showing reconnecting, then goes live', async () => {
    const status = new ConnectionStatusStore()
    const states: string[] = []
    status.subscribe(() => states.push(status.getSnapshot().state))
    const answers: Array<() => Response> = [
      () => {
        throw new TypeError('fetch failed')
      },
      () => new Response('down', { status: 503 }),
      () => new Response('[1]', { status: 200, headers: { 'content-type': 'application/json' } }),
    ]
    let calls = 0
    const f = createResilientFetch({ status, backoff: fast, baseFetch: async () => answers[calls++]() })
    const res = await f('http://x/s?offset=-1')
    expect(await res.json()).toEqual([1])
    expect(calls).toBe(3)
    expect(states).toContain('reconnecting')
    expect(status.getSnapshot()).toMatchObject({ state: 'live', attempt: 0 })
  })

  it('passes a refusal up at once and marks the connection offline for good', async () => {
    const status = new ConnectionStatusStore()
    let calls = 0
    const f = createResilientFetch({
      status,
      backoff: fast,
      baseFetch: async () => {
        calls++
        return new Response('{"error":"invalid token"}', { status: 401 })
      },
    })
    const res = await f('http://x/s')
    expect(res.status).toBe(401)
    expect(calls).toBe(1)
    expect(status.getSnapshot()).toMatchObject({ state: 'offline', fatal: true })
    expect(status.getSnapshot().reason).toContain('invalid token')
  })

  it('words refusals from both error shapes the server uses', async () => {
    const status = new ConnectionStatusStore()
    const f = createResilientFetch({
      status,
      backoff: fast,
      baseFetch: async () => new Response('{"error":{"code":"FORBIDDEN","message":"token is for another session"}}', { status: 403 }),
    })
    await f('http://x/s')
    expect(status.getSnapshot().reason).toBe('this link does not allow reading the session: token is for another session')
    const missing = new ConnectionStatusStore()
    await createResilientFetch({
      status: missing,
      backoff: fast,
      baseFetch: async () => new Response('{"error":{"code":"NOT_FOUND","message":"Stream not found"}}', { status: 404 }),
    })('http://x/s')
    expect(missing.getSnapshot().reason).toBe('no such session')
  })

  it('retries a response whose body breaks half-way instead of handing over half of it', async () => {
    const status = new ConnectionStatusStore()
    let calls = 0
    const f = createResilientFetch({
      status,
      backoff: fast,
      baseFetch: async () => {
        calls++
        if (calls === 1) {
          const body = new ReadableStream({
            start: (c) => {
              c.enqueue(new TextEncoder().encode('[1,'))
              c.error(new TypeError('terminated'))
            },
          })
          return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })
        }
        return new Response('[1,2]', { status: 200, headers: { 'content-type': 'application/json' } })
      },
    })
    expect(await (await f('http://x/s')).json()).toEqual([1, 2])
    expect(calls).toBe(2)
  })

  it('stops retrying when the read is aborted', async () => {
    const status = new ConnectionStatusStore()
    const abort = new AbortController()
    const f = createResilientFetch({
      status,
      backoff: { initialMs: 50, maxMs: 50, multiplier: 1 },
      baseFetch: async () => Promise.reject(new TypeError('down')),
    })
    const pending = f('http://x/s', { signal: abort.signal })
    setTimeout(() => abort.abort(), 20)
    await expect(pending).rejects.toThrow(/abort/i)
  })

  it('"retry now" skips the wait', async () => {
    const status = new ConnectionStatusStore()
    let calls = 0
    const f = createResilientFetch({
      status,
      backoff: { initialMs: 60_000, maxMs: 60_000, multiplier: 1 },
      baseFetch: async () => {
        calls++
        if (calls === 1) throw new TypeError('down')
        return new Response('[]', { status: 200, headers: { 'content-type': 'application/json' } })
      },
    })
    const pending = f('http://x/s')
    while (status.getSnapshot().state !== 'reconnecting') await new Promise((r) => setTimeout(r, 1))
    expect(status.getSnapshot().nextRetryAt).toBeGreaterThan(Date.now() + 20_000)
    status.retryNow()
    expect(await (await pending).json()).toEqual([])
  })
})
