import { describe, expect, it } from 'vitest'
import { HttpError, errorResponse, isAnswerable } from '../../../src/lib/sessions/http'
import {
  InvalidSessionEventError,
  MessageAuthorshipError,
  SessionEndedError,
  SessionNotFoundError,
  SessionStreamClosedError,
  SessionStreamGoneError,
} from '../../../src/lib/sessions/session-errors'

async function answer(err: Parameters<typeof errorResponse>[0]) {
  const res = errorResponse(err)
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, closed: res.headers.get('stream-closed') }
}

describe('session domain errors at the HTTP edge', () => {
  it('answers each with the status and words clients already see', async () => {
    expect(await answer(new SessionNotFoundError('s_1'))).toEqual({
      status: 404,
      body: { ok: false, error: 'unknown session s_1', field: 'sessionId' },
      closed: null,
    })
    expect(await answer(new SessionNotFoundError('s_1', 'id'))).toMatchObject({ status: 404, body: { field: 'id' } })
    expect(await answer(new SessionEndedError('s_1', 'terminated'))).toMatchObject({
      status: 404,
      body: { error: 'session s_1 has ended (terminated)' },
    })
    expect(await answer(new SessionStreamClosedError('s_1'))).toEqual({
      status: 409,
      body: { ok: false, error: 'session s_1: stream is closed' },
      closed: 'true',
    })
    expect(await answer(new SessionStreamGoneError('s_1'))).toMatchObject({
      status: 404,
      body: { error: 'session s_1: stream no longer exists' },
    })
    expect(await answer(new InvalidSessionEventError('data.delta: too long', 'data.delta'))).toMatchObject({
      status: 400,
      body: { field: 'data.delta' },
    })
    expect(await answer(new MessageAuthorshipError(2, 'm-1'))).toMatchObject({ status: 403, body: { field: '[2].messageId' } })
  })

  it('lets adapters answer domain and HTTP errors, and nothing else (those are 500s)', () => {
    expect(isAnswerable(new SessionEndedError('s', 'x'))).toBe(true)
    expect(isAnswerable(new HttpError(400, 'bad'))).toBe(true)
    expect(isAnswerable(new TypeError('fetch failed'))).toBe(false)
  })
})
