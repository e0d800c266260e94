/**
 * The audit log (specs/operations.md, Audit log): every admin and security-relevant action as one
 * JSON entry appended to the admin-only stream `__tether/audit` (who, what, target, when,
 * outcome). Its own retention: the stream's Stream-TTL is TETHER_AUDIT_RETENTION_DAYS. Entries
 * name actors by token subject and role only; callers pass no token, code or secret, and
 * `record` drops detail fields whose names say they hold one.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from '../common/logger'
import { requireAdmin, type Authenticator } from '../sessions/auth'
import { HttpError, errorResponse, isAnswerable, json } from '../sessions/http'
import {
  appendJson,
  createJsonStream,
  readJsonToTail,
  StreamNotFoundError,
  StreamsProtocolError,
  type StreamsEndpoint,
} from '../sessions/streams-client'

export const AUDIT_STREAM = '__tether/audit'
export const AUDIT_PATH = '/api/audit'

export interface AuditActor {
  /** The token's subject (user, agent, 'local-admin'), null when it has none or none was given. */
  sub: string | null
  role: string | null
}

export type AuditOutcome = 'ok' | 'denied' | 'failed'

export interface AuditEntry {
  id: string
  time: number
  actor: AuditActor
  /** e.g. 'auth.sign-in', 'session.terminate', 'share.create', 'quota.change', 'webhook.create'. */
  action: string
  /** What it was done to: a session id, a webhook id; null when nothing in particular. */
  target: string | null
  outcome: AuditOutcome
  /** The HTTP status the action answered with. */
  status?: number
  detail?: Record<string, unknown>
}

export type AuditInput = Omit<AuditEntry, 'id' | 'time'>

/** The outcome an HTTP status stands for. */
export const outcomeOf = (status: number): AuditOutcome => (status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : 'failed')

const SECRET_NAME = /token|secret|code|password|key|authorization/i

function scrub(detail: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!detail) return undefined
  return Object.fromEntries(Object.entries(detail).filter(([k]) => !SECRET_NAME.test(k)))
}

/** The actor a request's token names (never the token); unauthenticated requests: nulls. */
export async function actorOf(auth: Authenticator, req: Request): Promise<AuditActor> {
  try {
    const claims = await auth.authenticate(req)
    return { sub: claims.sub ?? null, role: claims.role }
  } catch {
    return { sub: null, role: null }
  }
}

export class AuditLog {
  private ready: Promise<void> | null = null

  constructor(
    private readonly endpoint: StreamsEndpoint,
    private readonly retentionDays: number,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  private ensure(): Promise<void> {
    const ttl = this.retentionDays > 0 ? { ttlSeconds: this.retentionDays * 86_400 } : {}
    this.ready ??= createJsonStream(this.endpoint, AUDIT_STREAM, ttl).catch((err: unknown) => {
      this.ready = null
      throw err
    })
    return this.ready
  }

  /** Appends one entry; never throws (the action already happened; a failure is logged). */
  async record(input: AuditInput): Promise<void> {
    const entry: AuditEntry = { id: `aud_${randomBytes(9).toString('base64url')}`, time: this.now(), ...input, detail: scrub(input.detail) }
    if (entry.detail === undefined) delete entry.detail
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.ensure()
        await appendJson(this.endpoint, AUDIT_STREAM, [entry])
        return
      } catch (err) {
        // Expired by its retention while nobody wrote: create it again once.
        this.ready = null
        if (attempt === 0 && err instanceof StreamNotFoundError) continue
        this.logger.error({ err, action: input.action }, 'could not write an audit entry')
        return
      }
    }
  }

  /** GET /api/audit?after=<offset> (admin): the entries after that offset and where to resume. */
  handler(auth: Authenticator): (req: Request) => Promise<Response> {
    return async (req) => {
      try {
        if (req.method !== 'GET') throw new HttpError(405, `method ${req.method} not allowed`, undefined, { allow: 'GET' })
        requireAdmin(await auth.authenticate(req))
        const after = new URL(req.url).searchParams.get('after') ?? '-1'
        if (!/^(-1|now|[0-9A-Za-z_]{1,64})$/.test(after)) throw new HttpError(400, 'after must be a stream offset', 'query.after')
        await this.ensure()
        const read = await readJsonToTail(this.endpoint, AUDIT_STREAM, after).catch((err: unknown) => {
          if (err instanceof StreamsProtocolError && err.status === 400) throw new HttpError(400, 'after is not an offset of the audit stream', 'query.after')
          throw err
        })
        return json({ entries: read.messages, nextOffset: read.nextOffset })
      } catch (err) {
        if (isAnswerable(err)) return errorResponse(err)
        throw err
      }
    }
  }
}
