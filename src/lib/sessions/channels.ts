/**
 * The five channels of a Tether session and the State Protocol envelope that carries them.
 *
 * A session is ONE JSON-mode stream at `sessions/<id>`. Every message on it is a State Protocol
 * change event: `{ type: <channel>, key, value, headers: { operation, txid, timestamp, eventId } }`.
 * `type` is the channel name, `key` is the entity's primary key (always `value.id`).
 *
 * Every write path (the POST /api/streams writer, the raw protocol path, the UI, workers) builds or
 * checks events with `validateSessionEvent` / `buildSessionEvent` / `validateEnvelope` from here, so
 * there is exactly one definition of what a valid event is.
 *
 * Stop / cancel requests travel on the `agent-state` channel as `kind: 'control'` entries keyed
 * `control:<uuid>` (see `agentControlSchema`); the agent answers with its own `kind: 'state'` entry.
 */
import { createStateSchema } from '@durable-streams/state'
import { z } from 'zod'

export const CHANNELS = ['chunk', 'tool-call', 'terminal', 'presence', 'agent-state'] as const
export type Channel = (typeof CHANNELS)[number]

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value)
}

// Limits keep one event small enough that a session stream stays cheap to replay.
const ID_MAX = 200
const TEXT_MAX = 256 * 1024

/**
 * C0 controls, DEL and C1 controls. Names and ids are shown to other people, some of them in a
 * terminal: an ESC / OSC / CSI sequence in one would be interpreted by their xterm (issue #8).
 */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/
export function hasControlChars(value: string): boolean {
  return CONTROL_CHARS.test(value)
}
/**
 * A name or id a person supplies: 1..max characters, printable only. One regex check (length
 * included) instead of min + max + a pattern: every event carries several ids, and each zod
 * check costs about as much as the whole string's validation.
 */
export const printable = (max: number) =>
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  z.string().regex(new RegExp(`^[^\\u0000-\\u001f\\u007f-\\u009f]{1,${max}}$`), `must be 1 to ${max} characters without control characters`)

const id = printable(ID_MAX)
/** Epoch milliseconds. */
const epochMs = z.number().int().nonnegative()
const count = z.number().int().nonnegative()
/** Any JSON value (tool inputs and outputs). */
const json: z.ZodType<unknown> = z.json()

// ---------------------------------------------------------------------------------------------
// chunk: message text as it streams. Messages are derived from chunks (group by messageId, order
// by seq), never stored twice. Chunks are immutable: `id` defaults to `<messageId>:<seq>`, so a
// retried chunk is deduplicated even without an explicit event id.
// ---------------------------------------------------------------------------------------------
export const MESSAGE_ROLES = ['user', 'assistant', 'system'] as const
export const chunkSchema = z.object({
  id,
  messageId: id,
  role: z.enum(MESSAGE_ROLES),
  /** User id for `user` chunks, agent id for `assistant` / `system` chunks. */
  author: id,
  turn: count,
  /** Position of this chunk within its message, from 0. */
  seq: count,
  delta: z.string().max(TEXT_MAX),
  /** True on the last chunk of a message. */
  done: z.boolean(),
  timestamp: epochMs,
})
export type Chunk = z.infer<typeof chunkSchema>

// ---------------------------------------------------------------------------------------------
// tool-call: one entity per call, upserted as it moves pending → running → succeeded/failed/cancelled.
// ---------------------------------------------------------------------------------------------
export const TOOL_CALL_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const
export const toolCallSchema = z.object({
  id,
  messageId: id,
  /** Agent that made the call. */
  agentId: id.optional(),
  name: printable(ID_MAX),
  input: json,
  status: z.enum(TOOL_CALL_STATUSES),
  output: json.optional(),
  error: z.string().max(TEXT_MAX).optional(),
  startedAt: epochMs.optional(),
  endedAt: epochMs.optional(),
  timestamp: epochMs,
})
export type ToolCall = z.infer<typeof toolCallSchema>

// ---------------------------------------------------------------------------------------------
// terminal: immutable lines. `input` lines come from a person (source = user id) or the agent;
// `output` / `exit` come from whoever runs the shell (source = agent id); `commandId` links output
// to the input line that caused it (it is the input line's id).
// ---------------------------------------------------------------------------------------------
export const TERMINAL_KINDS = ['input', 'output', 'exit', 'resize'] as const
export const terminalSchema = z
  .object({
    id,
    kind: z.enum(TERMINAL_KINDS),
    /** User id (input typed by a person) or agent id. */
    source: id,
    stream: z.enum(['stdout', 'stderr']).optional(),
    data: z.string().max(TEXT_MAX).optional(),
    commandId: id.optional(),
    exitCode: z.number().int().optional(),
    cols: z.number().int().min(1).max(10_000).optional(),
    rows: z.number().int().min(1).max(10_000).optional(),
    timestamp: epochMs,
  })
  .superRefine((line, ctx) => {
    if ((line.kind === 'input' || line.kind === 'output') && line.data === undefined) {
      ctx.addIssue({ code: 'custom', path: ['data'], message: `data is required for ${line.kind} lines` })
    }
    if (line.kind === 'output' && line.stream === undefined) {
      ctx.addIssue({ code: 'custom', path: ['stream'], message: 'stream (stdout|stderr) is required for output' })
    }
    if (line.kind === 'exit' && line.exitCode === undefined) {
      ctx.addIssue({ code: 'custom', path: ['exitCode'], message: 'exitCode is required for exit lines' })
    }
    if (line.kind === 'resize' && (line.cols === undefined || line.rows === undefined)) {
      ctx.addIssue({ code: 'custom', path: [line.cols === undefined ? 'cols' : 'rows'], message: 'cols and rows are required for resize' })
    }
  })
export type TerminalLine = z.infer<typeof terminalSchema>

// ---------------------------------------------------------------------------------------------
// presence: one entity per user (id = userId), upserted on every heartbeat. A user whose lastSeen
// is older than PRESENCE_GONE_AFTER_MS is shown as gone (see isPresenceGone); leaving is a delete.
// ---------------------------------------------------------------------------------------------
export const PRESENCE_STATUSES = ['active', 'idle', 'away'] as const
export const PRESENCE_HEARTBEAT_MS = 10_000
export const PRESENCE_GONE_AFTER_MS = 30_000
export const presenceSchema = z
  .object({
    id,
    userId: id,
    displayName: printable(100),
    /** CSS hex colour, e.g. #3b82f6. */
    color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'color must be #rrggbb'),
    status: z.enum(PRESENCE_STATUSES),
    cursor: z.object({ x: z.number(), y: z.number() }).nullable().optional(),
    focusedPane: z.string().max(ID_MAX).nullable().optional(),
    lastSeen: epochMs,
    timestamp: epochMs,
  })
  .refine((p) => p.id === p.userId, { path: ['id'], message: 'presence id must equal userId' })
export type Presence = z.infer<typeof presenceSchema>

export function isPresenceGone(p: Pick<Presence, 'lastSeen'>, now: number, goneAfterMs = PRESENCE_GONE_AFTER_MS): boolean {
  return now - p.lastSeen > goneAfterMs
}

// ---------------------------------------------------------------------------------------------
// agent-state: one `kind: 'state'` entity per agent (id = agentId), upserted; plus `kind: 'control'`
// entities (id = `control:<uuid>`): stop / cancel requests from people or from the server (limits,
// terminate). The agent sees them in the log and answers with its state (e.g. status 'stopped').
// ---------------------------------------------------------------------------------------------
export const AGENT_STATUSES = ['starting', 'idle', 'thinking', 'running-tool', 'waiting', 'stopped', 'failed'] as const
export const agentStateSchema = z
  .object({
    id,
    kind: z.literal('state'),
    agentId: id,
    status: z.enum(AGENT_STATUSES),
    currentStep: z.string().max(1000).nullable().optional(),
    model: z.string().max(ID_MAX).optional(),
    /** Cumulative for this agent over the session. */
    tokensIn: count,
    tokensOut: count,
    costUsd: z.number().nonnegative(),
    turns: count,
    /** Times this session's worker was started again after it died (written by the worker). */
    restarts: count.optional(),
    lastHeartbeat: epochMs,
    error: z.string().max(TEXT_MAX).optional(),
    timestamp: epochMs,
  })
  .refine((s) => s.id === s.agentId, { path: ['id'], message: 'agent-state id must equal agentId' })
export type AgentState = z.infer<typeof agentStateSchema>

/**
 * `cancel`: abort the current turn (or one tool call with `toolCallId`); the agent stays.
 * `stop`: the agent finishes up and exits; written by the server when a session ends.
 */
export const CONTROL_ACTIONS = ['stop', 'cancel'] as const
export const agentControlSchema = z.object({
  id: id.regex(/^control:/, 'control ids start with "control:"'),
  kind: z.literal('control'),
  action: z.enum(CONTROL_ACTIONS),
  /** Agent addressed; absent = every agent in the session. */
  agentId: id.optional(),
  toolCallId: id.optional(),
  /** Why: 'user', 'terminated', 'limit:idle', 'limit:lifetime', 'limit:budget', 'limit:turns', … */
  reason: printable(200),
  /** User id, agent id, or 'system' for the server. */
  requestedBy: id,
  timestamp: epochMs,
})
export type AgentControl = z.infer<typeof agentControlSchema>

export const agentStateChannelSchema = z.union([agentStateSchema, agentControlSchema])
export type AgentStateEntry = AgentState | AgentControl

export interface ChannelValues {
  chunk: Chunk
  'tool-call': ToolCall
  terminal: TerminalLine
  presence: Presence
  'agent-state': AgentStateEntry
}
export type ChannelValue = ChannelValues[Channel]

/** Stored-form schema per channel (what is on the stream). */
export const channelSchemas = {
  chunk: chunkSchema,
  'tool-call': toolCallSchema,
  terminal: terminalSchema,
  presence: presenceSchema,
  'agent-state': agentStateChannelSchema,
} as const satisfies Record<Channel, z.ZodType>

/**
 * One State Protocol schema for the whole session stream. Collection names are camel-cased
 * channel names; every collection's primary key is `id` (= the event key).
 */
export const sessionStateSchema = createStateSchema({
  chunks: { schema: chunkSchema, type: 'chunk', primaryKey: 'id' },
  toolCalls: { schema: toolCallSchema, type: 'tool-call', primaryKey: 'id' },
  terminal: { schema: terminalSchema, type: 'terminal', primaryKey: 'id' },
  presence: { schema: presenceSchema, type: 'presence', primaryKey: 'id' },
  agentState: { schema: agentStateChannelSchema, type: 'agent-state', primaryKey: 'id' },
})
export type SessionStateSchema = typeof sessionStateSchema

// ---------------------------------------------------------------------------------------------
// The envelope
// ---------------------------------------------------------------------------------------------
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

export type ValidationResult<T> =
  | { ok: true; value: T }
  | { ok: false; field: string; message: string }

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
 * agentId, control: `control:<uuid>`, others: a uuid); chunk `done` (false); agent-state
 * `kind` ('state'); presence `lastSeen` and agent `lastHeartbeat` (now).
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
      else {
        filled.id ??= filled.agentId
        filled.lastHeartbeat ??= now
      }
      break
    default:
      break
  }
  filled.id ??= newId()
  const schema: z.ZodType<ChannelValue> =
    channel === 'agent-state' ? (filled.kind === 'control' ? agentControlSchema : agentStateSchema) : channelSchemas[channel]
  const parsed = schema.safeParse(filled)
  if (!parsed.success) return { ok: false, ...firstIssue(parsed.error, 'data') }
  return { ok: true, value: parsed.data }
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
  const immutable = channel === 'chunk' || channel === 'terminal'
  const eventId = (input.id as string | undefined) ?? (immutable ? `${channel}:${value.id}` : newId())
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
    return { ok: false, field: 'event.headers.operation', message: `operation must be one of ${ALLOWED_OPERATIONS[type].join(', ')} for ${type}` }
  }
  if (headers.operation === 'delete') return { ok: true, value: shape.data as SessionEvent }
  const schema: z.ZodType<ChannelValue> =
    type === 'agent-state' ? (isRecord(value) && value.kind === 'control' ? agentControlSchema : agentStateSchema) : channelSchemas[type]
  const parsed = schema.safeParse(value)
  if (!parsed.success) return { ok: false, ...firstIssue(parsed.error, 'event.value') }
  if (parsed.data.id !== key) return { ok: false, field: 'event.key', message: 'key must equal value.id' }
  return { ok: true, value: { ...shape.data, value: parsed.data } as SessionEvent }
}
