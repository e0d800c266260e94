/**
 * Small helpers shared by the session layer's HTTP adapters: JSON answers, typed errors, bounded
 * body reading.
 */
import type { z } from 'zod'
import { readBody } from '../streams/body'
import {
  AgentListConflictError,
  InvalidSessionEventError,
  MessageAuthorshipError,
  SessionError,
  SessionStreamClosedError,
} from './session-errors'

/** An error that already knows its HTTP answer. Body: `{ ok: false, error, field? }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

/** Every JSON answer's own headers (json() here, jsonAnswer() in json-answer.ts). */
export const JSON_ANSWER_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_ANSWER_HEADERS, ...headers } })
}

/** The session layer's domain errors as HTTP answers (the one place that maps them). */
export function httpErrorOf(err: SessionError): HttpError {
  if (err instanceof SessionStreamClosedError) return new HttpError(409, err.message, err.field, { 'stream-closed': 'true' })
  if (err instanceof MessageAuthorshipError) return new HttpError(403, err.message, err.field)
  if (err instanceof InvalidSessionEventError) return new HttpError(400, err.message, err.field)
  if (err instanceof AgentListConflictError) return new HttpError(409, err.message, err.field)
  // Unknown (session or agent), ended, stream gone: there is no such live session.
  return new HttpError(404, err.message, err.field)
}

/** Whether an adapter answers `err` itself (4xx with a reason) instead of letting it become a 500. */
export function isAnswerable(err: unknown): err is HttpError | SessionError {
  return err instanceof HttpError || err instanceof SessionError
}

export function errorResponse(error: HttpError | SessionError): Response {
  const err = error instanceof SessionError ? httpErrorOf(error) : error
  return json({ ok: false, error: err.message, ...(err.field !== undefined ? { field: err.field } : {}) }, err.status, err.headers)
}

// The rest of the body is left unread, so the connection cannot carry another request.
const tooLarge = (limit: number) => new HttpError(413, `body larger than ${limit} bytes`, 'body', { connection: 'close' })

/** Reads a body of at most `limit` bytes; 413 as soon as it is known to be larger. */
export async function readBodyBytes(req: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  // Why the cast: bodies read from sockets are backed by plain ArrayBuffers, never shared memory.
  return (await readBody(req, limit, tooLarge)) as Uint8Array<ArrayBuffer>
}

/**
 * Deepest nesting accepted in a JSON body. Validation (zod's z.json for tool inputs) recurses per
 * level, so a body of ~10k nested arrays overflowed the stack and answered 500 (issue #8); no
 * event needs more than a few levels.
 */
export const MAX_JSON_DEPTH = 64

/** Whether `value` nests arrays / objects deeper than `max` levels. Iterative: never recurses itself. */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false
  // Two parallel stacks, no per-node allocation: this runs on every write.
  const nodes: object[] = [value]
  const depths: number[] = [1]
  while (nodes.length > 0) {
    const v = nodes.pop() as Record<string, unknown>
    const depth = depths.pop() as number
    if (depth > max) return true
    for (const key in v) {
      const child = v[key]
      if (typeof child === 'object' && child !== null) {
        nodes.push(child)
        depths.push(depth + 1)
      }
    }
  }
  return false
}

// One decoder for every body (decode() without `stream` keeps no state between calls): it runs per write.
const utf8 = new TextDecoder()

/** Parses JSON text; 400 when malformed or nested deeper than MAX_JSON_DEPTH. */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(bytes)) as unknown
  } catch {
    throw new HttpError(400, 'body is not valid JSON', 'body')
  }
  if (jsonDeeperThan(value, MAX_JSON_DEPTH)) throw new HttpError(400, `body nests deeper than ${MAX_JSON_DEPTH} levels`, 'body')
  return value
}

/** Parses a JSON body (empty body = undefined). 400 for malformed or too deep JSON, 413 when too large. */
export async function readJsonBody(req: Request, limit: number): Promise<unknown> {
  const bytes = await readBodyBytes(req, limit)
  if (bytes.byteLength === 0) return undefined
  return parseJsonBytes(bytes)
}

/** Validates with zod; 400 naming the first failing field. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, prefix = ''): z.infer<T> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const path = issue?.path.map(String).join('.') ?? ''
  const field = [prefix, path].filter(Boolean).join('.') || prefix || 'body'
  throw new HttpError(400, `${field}: ${issue?.message ?? 'invalid'}`, field)
}
