/**
 * Quota and rate-limit refusals in words (refusal-text.ts), as the new-session dialog (through
 * the API client's ApiError) and the composer (through the writer's WriteError) show them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, createSession } from '../../../../src/lib/sessions/client/api'
import { refusalText } from '../../../../src/lib/sessions/client/refusal-text'
import { writeEvents, WriteError } from '../../../../src/lib/sessions/client/event-writer-client'

afterEach(() => vi.unstubAllGlobals())

describe('refusal text', () => {
  it('a quota refusal leads with what happened, keeps the numbers, and says how long to wait when waiting helps', () => {
    expect(refusalText('quota:concurrent-sessions', 'concurrent sessions quota reached: 2 of 2 running; end one of your sessions to start another')).toBe(
      'You have reached your limit of running sessions (concurrent sessions quota reached: 2 of 2 running; end one of your sessions to start another).',
    )
    expect(refusalText('quota:sessions-per-day', 'daily sessions quota reached: 2 of 2 started today (UTC)', 7200)).toBe(
      'You have started as many sessions as you may today (daily sessions quota reached: 2 of 2 started today (UTC)). Try again in 2 h.',
    )
    expect(refusalText('rate-limit:writes', 'too many requests', 12)).toBe('Too many writes in a short time (too many requests). Try again in 12 s.')
    // Anything else is the server's text unchanged.
    expect(refusalText('provider', 'no key for anthropic')).toBe('no key for anthropic')
    expect(refusalText(undefined, 'unknown session s_1')).toBe('unknown session s_1')
  })

  it("the API client's error for a refused create reads as words (the new-session dialog shows err.message)", async () => {
    vi.stubGlobal('fetch', async () =>
      Response.json({ ok: false, error: 'daily sessions quota reached: 3 of 3 started today (UTC); try again after 00:00 UTC', reason: 'quota:sessions-per-day' }, { status: 429, headers: { 'retry-after': '60' } }),
    )
    const err = await createSession(undefined, { pattern: 'long-running' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(429)
    expect((err as ApiError).message).toBe(
      'You have started as many sessions as you may today (daily sessions quota reached: 3 of 3 started today (UTC); try again after 00:00 UTC). Try again in 60 s.',
    )
  })

  it('a write refused for good (a 429 with no Retry-After to wait) reaches the composer as words', async () => {
    const refuse = async () => Response.json({ ok: false, error: 'too many requests: at most 5 writes per 60 s', reason: 'rate-limit:writes' }, { status: 429 })
    const err = await writeEvents({ sessionId: 's', origin: 'http://tether.test' }, { channel: 'chunk', data: {} }, refuse).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WriteError)
    expect((err as WriteError).message).toBe('Too many writes in a short time (too many requests: at most 5 writes per 60 s).')
  })
})
