/**
 * `POST /api/streams?sessionId=<id>` with `{channel, data}` or an array of them: checks the token
 * may write to the session before reading the body, validates each event with the channel
 * schemas, checks the token's scope per event, appends all of them in one atomic append
 * (skipping event ids the stream already holds; a chunk into a message someone else started is
 * refused there, see session-log.ts) and answers
 * `{ ok: true, offset, txid, eventIds, duplicates }`.
 */
import { randomUUID } from 'node:crypto'
import type { Authenticator } from './auth'
import { buildSessionEvent, type SessionEvent } from './session-events'
import { HttpError, errorResponse, isAnswerable, readJsonBody } from './http'
import { jsonAnswer } from './json-answer'
import type { SessionManager } from './manager'
import { canWrite, coversSession, mayWriteSession } from './tokens'
import type { RateCheck } from '../ops/rate-limit'

/** Most events in one request, here and on the raw protocol path (protocol-gate.ts). */
export const MAX_EVENTS_PER_REQUEST = 1000

export interface WriterOptions {
  manager: SessionManager
  auth: Authenticator
  now: () => number
  /** Largest accepted body; bigger gets 413. */
  maxBodyBytes: number
  /** Most events in one request. */
  maxEvents?: number
  /** Request rate limit (src/lib/ops/rate-limit.ts), checked before the body is read. */
  rateLimit?: RateCheck
}

/** One query parameter, parsed as URL.searchParams would, without parsing the rest of the URL (this runs per write). */
function queryParam(url: string, name: string): string | null {
  const q = url.indexOf('?')
  if (q < 0) return null
  const hash = url.indexOf('#', q)
  return new URLSearchParams(url.slice(q + 1, hash < 0 ? undefined : hash)).get(name)
}

export function createWriter(opts: WriterOptions): (req: Request) => Promise<Response> {
  const maxEvents = opts.maxEvents ?? MAX_EVENTS_PER_REQUEST
  return async (req) => {
    try {
      if (req.method !== 'POST') throw new HttpError(405, 'use POST', undefined, { allow: 'POST, OPTIONS' })
      const sessionId = queryParam(req.url, 'sessionId')
      if (!sessionId) throw new HttpError(400, 'sessionId query parameter is required', 'sessionId')
      const claims = await opts.auth.authenticate(req)
      if (!coversSession(claims, sessionId)) throw new HttpError(403, `token is not valid for session ${sessionId}`, 'token')
      // Before the body is read: a viewer's (or share link's) bytes are never buffered.
      if (!mayWriteSession(claims, sessionId))
        throw new HttpError(403, `role ${claims.role}${claims.sub ? '' : ' without a user'} may not write to session ${sessionId}`, 'token')
      const limited = await opts.rateLimit?.(claims, 'writes')
      if (limited) return limited
      const live = await opts.manager.requireLive(sessionId)
      const body = await readJsonBody(req, opts.maxBodyBytes)
      if (body === undefined) throw new HttpError(400, 'body must be {channel, data} or an array of them', 'body')
      const batch = Array.isArray(body)
      const items: unknown[] = batch ? body : [body]
      if (items.length === 0) throw new HttpError(400, 'empty event array', 'body')
      if (items.length > maxEvents) throw new HttpError(413, `at most ${maxEvents} events per request`, 'body')
      // A retry that repeats its txid gets the same one back (StreamDB's awaitTxId keeps working).
      const first = items[0] as { txid?: unknown } | null
      const txid = typeof first === 'object' && first !== null && typeof first.txid === 'string' ? first.txid : randomUUID()
      const now = opts.now()
      const events: SessionEvent[] = []
      for (const [i, item] of items.entries()) {
        const where = (field: string) => (batch ? [`[${i}]`, field].filter(Boolean).join('.') : field || 'body')
        const built = buildSessionEvent(item, { now, txid })
        if (!built.ok) throw new HttpError(400, `${where(built.field)}: ${built.message}`, where(built.field))
        const event = built.value
        const subject = event.value ?? { id: event.key, userId: event.key }
        if (!canWrite(claims, event.type, subject)) {
          throw new HttpError(
            403,
            `role ${claims.role}${claims.sub ? ` (${claims.sub})` : ''} may not write this ${event.type} event`,
            where('data'),
          )
        }
        events.push(event)
      }
      const result = await opts.manager.append(sessionId, events, live)
      return jsonAnswer({
        ok: true,
        offset: result.offset,
        txid,
        eventIds: events.map((e) => e.headers.eventId),
        duplicates: result.duplicates,
      })
    } catch (err) {
      if (isAnswerable(err)) return errorResponse(err)
      throw err
    }
  }
}
