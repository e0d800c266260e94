/**
 * The State Protocol envelope of a session event: `{ type: <channel>, key, value, headers:
 * { operation, txid, timestamp, eventId } }`, `key` always `value.id`. Browser-safe.
 *
 * Every write path (the POST /api/streams writer, the raw protocol path, the UI, workers) builds or
 * checks events with `validateSessionEvent` / `buildSessionEvent` / `validateEnvelope` from here, so
 * there is exactly one definition of what a valid event is. The per-channel value schemas are
 * channel-schemas.ts.
 */
import { z } from 'zod'
import { immutableEventId, isImmutableChannel } from '../common/session-contract'
import {
  CHANNELS,
  ID_MAX,
  agentControlSchema,
  agentRosterSchema,
  agentStateSchema,
  agentTurnSchema,
  turnIdOf,
  channelSchemas,
  entityId as id,
  isChannel,
  type Channel,
  type ChannelValue,
  type ChannelValues,
} from './channel-schemas'

export const OPERATIONS = ['insert', 'update', 'upsert', 'delete'] as const
export type Operation = (typeof OPERATIONS)[number]

/** Operations each channel accepts. chunk and terminal entries are immutable. */
export const ALLOWED_OPERATIONS: Record<Channel, readonly Operation[]> = {
  chunk: ['insert'],
  terminal: ['insert'],
  'tool-call': ['insert', 'update', 'upsert'],
  presence: ['insert', 'update', 'upsert', 'delete'],
  'agent-state': ['insert', 'update', 'upsert'],
}
const DEFAULT_OPERATION: Record<Channel, Operation> = {
  chunk: 'insert',
  terminal: 'insert',
  'tool-call': 'upsert',
  presence: 'upsert',
  'agent-state': 'upsert',
}

export interface SessionEventHeaders {
  operation: Operation
  /** Groups the events of one write (one POST); StreamDB's awaitTxId waits for it. */
  txid?: string
  /** RFC 3339. */
  timestamp: string
  /** Unique per event within a session; a retried event id is never appended twice. */
  eventId: string
}

/** A State Protocol change event on a session stream. `value` is absent for deletes. */
export type SessionEvent<C extends Channel = Channel> = {
  [K in C]: { type: K; key: string; value?: ChannelValues[K]; headers: SessionEventHeaders }
}[C]

/** What a writer hands in: a channel and the value (id and timestamp may be left out). */
export interface SessionEventInput {
  channel: string
  data: unknown
  /** Event id for idempotent retries (defaults: see `buildSessionEvent`). */
  id?: string
  operation?: string
  txid?: string
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; field: string; message: string }

function firstIssue(error: z.ZodError, prefix: string): { field: string; message: string } {
  const issue = error.issues[0]
  const path = issue?.path.map(String).join('.') ?? ''
  return { field: path ? `${prefix}.${path}` : prefix, message: issue?.message ?? 'invalid' }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

let fallbackCounter = 0
function randomId(): string {
  // crypto.randomUUID exists in Node 20 and every browser Tether supports.
  if (typeof globalThis.crypto?.randomUUID === 'function') return globalThis.crypto.randomUUID()
  fallbackCounter += 1
  return `${Date.now().toString(36)}-${fallbackCounter.toString(36)}-${Math.random().toString(36).slice(2)}`
}

export interface FillOptions {
  /** Epoch ms used for a missing `timestamp` (and presence `lastSeen`, agent `lastHeartbeat`). */
  now?: number
  newId?: () => string
}

/**
 * Fills the fields a writer may leave out, then validates against the channel's schema.
 * Filled: `timestamp` (now); `id` (chunk: `<messageId>:<seq>`, presence: userId, agent state:
 * agentId, control: `control:<uuid>`, turn: `turn:<messageId>`, others: a uuid); chunk `done`
 * (false); agent-state `kind` ('state'); presence `lastSeen`, agent `lastHeartbeat` and turn
 * `updatedAt` (now).
 * The field in a failure is relative to `data` (e.g. `data.role`).
 */
export function validateSessionEvent<C extends Channel>(
  channel: C,
  data: unknown,
  options?: FillOptions,
): ValidationResult<ChannelValues[C]>
export function validateSessionEvent(channel: string, data: unknown, options?: FillOptions): ValidationResult<ChannelValue>
export function validateSessionEvent(channel: string, data: unknown, options: FillOptions = {}): ValidationResult<ChannelValue> {
  if (!isChannel(channel)) {
    return { ok: false, field: 'channel', message: `unknown channel "${String(channel)}" (expected one of ${CHANNELS.join(', ')})` }
  }
  if (!isRecord(data)) return { ok: false, field: 'data', message: 'data must be an object' }
  const now = options.now ?? Date.now()
  const newId = options.newId ?? randomId
  const filled: Record<string, unknown> = { ...data }
  filled.timestamp ??= now
  switch (channel) {
    case 'chunk':
      filled.done ??= false
      if (filled.id === undefined && typeof filled.messageId === 'string' && typeof filled.seq === 'number') {
        filled.id = `${filled.messageId}:${filled.seq}`
      }
      break
    case 'presence':
      filled.id ??= filled.userId
      filled.lastSeen ??= now
      break
    case 'agent-state':
      filled.kind ??= 'state'
      if (filled.kind === 'control') filled.id ??= `control:${newId()}`
      else if (filled.kind === 'turn') {
        if (typeof filled.messageId === 'string')
          filled.id ??= turnIdOf(filled.messageId, typeof filled.agentId === 'string' ? filled.agentId : undefined)
        filled.updatedAt ??= now
      } else if (filled.kind === 'roster') {
        filled.id ??= 'roster'
      } else {
        filled.id ??= filled.agentId
        filled.lastHeartbeat ??= now
      }
      break
    default:
      break
  }
  filled.id ??= newId()
  const schema: z.ZodType<ChannelValue> = channel === 'agent-state' ? agentStateEntrySchema(filled.kind) : channelSchemas[channel]
  const parsed = schema.safeParse(filled)
  if (!parsed.success) return { ok: false, ...firstIssue(parsed.error, 'data') }
  return { ok: true, value: parsed.data }
}

/** The agent-state schema for an entry's `kind` (one error about the right shape, not a union's). */
function agentStateEntrySchema(kind: unknown): z.ZodType<ChannelValue> {
  if (kind === 'roster') return agentRosterSchema
  return kind === 'control' ? agentControlSchema : kind === 'turn' ? agentTurnSchema : agentStateSchema
}

export interface BuildOptions extends FillOptions {
  /** txid for the event when the input has none (one per POST, usually). */
  txid?: string
}

/**
 * Validates a writer's input and wraps it into the State Protocol envelope.
 * Event id: `input.id`, else for immutable channels (chunk, terminal) `<channel>:<value.id>` so a
 * retried line or chunk with the same id is a duplicate, else a fresh uuid.
 */
export function buildSessionEvent(input: unknown, options: BuildOptions = {}): ValidationResult<SessionEvent> {
  if (!isRecord(input)) return { ok: false, field: '', message: 'each event must be an object {channel, data}' }
  const { channel, data } = input
  if (typeof channel !== 'string') return { ok: false, field: 'channel', message: 'channel is required' }
  if (!isChannel(channel)) return validateSessionEvent(channel, data, options) as ValidationResult<never>
  const operation = input.operation ?? DEFAULT_OPERATION[channel]
  if (typeof operation !== 'string' || !(ALLOWED_OPERATIONS[channel] as readonly string[]).includes(operation)) {
    return { ok: false, field: 'operation', message: `operation must be one of ${ALLOWED_OPERATIONS[channel].join(', ')} for ${channel}` }
  }
  for (const field of ['id', 'txid'] as const) {
    const v = input[field]
    if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > ID_MAX)) {
      return { ok: false, field, message: `${field} must be a non-empty string of at most ${ID_MAX} characters` }
    }
  }
  const newId = options.newId ?? randomId
  const now = options.now ?? Date.now()
  const txid = (input.txid as string | undefined) ?? options.txid
  if (operation === 'delete') {
    // A delete needs only the key: presence { userId } or { id }.
    if (!isRecord(data)) return { ok: false, field: 'data', message: 'data must be an object' }
    const key = data.id ?? data.userId
    const keyCheck = id.safeParse(key)
    if (!keyCheck.success) return { ok: false, field: 'data.id', message: 'delete needs data.id (or data.userId)' }
    const eventId = (input.id as string | undefined) ?? newId()
    const headers: SessionEventHeaders = { operation, timestamp: new Date(now).toISOString(), eventId, ...(txid ? { txid } : {}) }
    return { ok: true, value: { type: channel, key: keyCheck.data, headers } as SessionEvent }
  }
  const checked = validateSessionEvent(channel, data, { now, newId })
  if (!checked.ok) return checked
  const value = checked.value
  const eventId = (input.id as string | undefined) ?? (isImmutableChannel(channel) ? immutableEventId(channel, value.id) : newId())
  const headers: SessionEventHeaders = {
    operation: operation as Operation,
    timestamp: new Date(value.timestamp).toISOString(),
    eventId,
    ...(txid ? { txid } : {}),
  }
  return { ok: true, value: { type: channel, key: value.id, value, headers } as SessionEvent }
}

const envelopeShape = z.object({
  type: z.string(),
  key: id,
  value: z.unknown().optional(),
  old_value: z.unknown().optional(),
  headers: z
    .object({
      operation: z.enum(OPERATIONS),
      txid: z.string().min(1).max(ID_MAX).optional(),
      timestamp: z.string().optional(),
      eventId: id.optional(),
    })
    .loose(),
})

/**
 * Checks a complete envelope (as appended on the raw protocol path by workers and the UI):
 * known channel, allowed operation, value valid for its channel and `key === value.id`.
 * Nothing is filled in: raw appends must already be complete.
 */
export function validateEnvelope(event: unknown): ValidationResult<SessionEvent> {
  const shape = envelopeShape.safeParse(event)
  if (!shape.success) return { ok: false, ...firstIssue(shape.error, 'event') }
  const { type, key, value, headers } = shape.data
  if (!isChannel(type)) return { ok: false, field: 'event.type', message: `unknown channel "${type}"` }
  if (!ALLOWED_OPERATIONS[type].includes(headers.operation)) {
    return {
      ok: false,
      field: 'event.headers.operation',
      message: `operation must be one of ${ALLOWED_OPERATIONS[type].join(', ')} for ${type}`,
    }
  }
  if (headers.operation === 'delete') {
    // A delete is judged by its key alone: a value riding along (`{ userId: <mine> }` with
    // someone else's key) must not be what canWrite sees.
    const { value: _ignored, ...keyOnly } = shape.data
    return { ok: true, value: keyOnly as SessionEvent }
  }
  const schema: z.ZodType<ChannelValue> =
    type === 'agent-state' ? agentStateEntrySchema(isRecord(value) ? value.kind : undefined) : channelSchemas[type]
  const parsed = schema.safeParse(value)
  if (!parsed.success) return { ok: false, ...firstIssue(parsed.error, 'event.value') }
  if (parsed.data.id !== key) return { ok: false, field: 'event.key', message: 'key must equal value.id' }
  return { ok: true, value: { ...shape.data, value: parsed.data } as SessionEvent }
}
