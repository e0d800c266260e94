/**
 * The five channels of a Tether session: what each channel's entries look like (one zod schema
 * per channel, in stored form) and the State Protocol schema of the whole stream. Browser-safe.
 * Building and checking the envelopes that carry these values is session-events.ts.
 *
 * A session is ONE JSON-mode stream at `sessions/<id>`. Every message on it is a State Protocol
 * change event whose `type` is the channel name and whose `key` is the entry's `id`.
 *
 * Stop / cancel requests travel on the `agent-state` channel as `kind: 'control'` entries keyed
 * `control:<uuid>` (see `agentControlSchema`); the agent answers with its own `kind: 'state'` entry.
 */
import { AGENT_ID_PATTERN, MAX_AGENTS_PER_SESSION, ROSTER_ENTRY_ID, turnIdFor } from '../common/agent-roster'
import { createStateSchema } from '@durable-streams/state'
import { z } from 'zod'
import { TURN_STATUSES } from './channel-constants'

// What the browser needs without zod lives in channel-constants.ts; re-exported for everyone else.
export {
  FINAL_TURN_STATUSES,
  PRESENCE_GONE_AFTER_MS,
  PRESENCE_HEARTBEAT_MS,
  TURN_STATUSES,
  isPresenceGone,
  type TurnStatus,
} from './channel-constants'

export const CHANNELS = ['chunk', 'tool-call', 'terminal', 'presence', 'agent-state'] as const
export type Channel = (typeof CHANNELS)[number]

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value)
}

// Limits keep one event small enough that a session stream stays cheap to replay.
export const ID_MAX = 200
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

/** An entity id (also event keys and event ids). */
export const entityId = printable(ID_MAX)
const id = entityId
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
  /**
   * Set only by compaction (src/lib/sessions/compaction): this chunk (id `<messageId>:folded`)
   * holds the whole text of that many folded chunks; readers show its delta and ignore the
   * message's other chunks.
   */
  folded: count.optional(),
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
    /** input only: keys typed into the terminal, written to the pty as typed (no Enter added). */
    raw: z.boolean().optional(),
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
    if (line.raw !== undefined && line.kind !== 'input') {
      ctx.addIssue({ code: 'custom', path: ['raw'], message: 'raw is only for input lines' })
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
export const PRESENCE_ROLES = ['viewer', 'collaborator', 'admin'] as const
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
    /**
     * Who this person is in the session, as their token says: `viewer` (watching, may write only
     * this entry) or `collaborator`/`admin`. Absent on entries written before the field existed.
     * canWrite (tokens.ts) checks it against the writer's token, so nobody claims more than it has.
     */
    role: z.enum(PRESENCE_ROLES).optional(),
    lastSeen: epochMs,
    timestamp: epochMs,
  })
  .refine((p) => p.id === p.userId, { path: ['id'], message: 'presence id must equal userId' })
export type Presence = z.infer<typeof presenceSchema>

// PRESENCE_HEARTBEAT_MS, PRESENCE_GONE_AFTER_MS and isPresenceGone: channel-constants.ts (re-exported above).

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
    /**
     * The answer to the last stop / cancel control this agent handled: `cancelled-turn` (the
     * turn's record names the control in `stopRequest`), `no-turn-running`, or `stopping`.
     */
    lastControl: z.object({ id, outcome: z.enum(['cancelled-turn', 'no-turn-running', 'stopping']) }).optional(),
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
  /** cancel only: the turn to cancel (by number or by its user message); absent = the current turn. */
  turn: count.optional(),
  messageId: id.optional(),
  /** Why: 'user', 'terminated', 'limit:idle', 'limit:lifetime', 'limit:budget', 'limit:turns', … */
  reason: printable(200),
  /** User id, agent id, or 'system' for the server. */
  requestedBy: id,
  timestamp: epochMs,
})
export type AgentControl = z.infer<typeof agentControlSchema>

// ---------------------------------------------------------------------------------------------
// Turn records (issue #10 "turns you can see"): one `kind: 'turn'` entity per user message, id
// `turn:<messageId>`, upserted as the turn moves. `accepted` is written by the server right after
// the message (before any worker runs); the worker that answers upserts the rest.
// ---------------------------------------------------------------------------------------------
// TURN_STATUSES, TurnStatus and FINAL_TURN_STATUSES: channel-constants.ts (re-exported above).
/** `turn:<messageId>` (the default agent), `turn:<messageId>@<agentId>` (others: issue #15). */
export const turnIdOf = (messageId: string, agentId?: string): string => turnIdFor(messageId, agentId)
export const agentTurnSchema = z
  .object({
    id: id.regex(/^turn:/, 'turn ids start with "turn:"'),
    kind: z.literal('turn'),
    /** The user message this turn answers. */
    messageId: id,
    turn: count,
    /** Who answers; absent while only `accepted`. */
    agentId: id.optional(),
    status: z.enum(TURN_STATUSES),
    /** Why it failed, was cancelled or interrupted. */
    reason: z.string().max(2000).optional(),
    /** The control (`control:<uuid>`) that cancelled it. */
    stopRequest: id.optional(),
    /** Times the answering worker died during this turn and a new one resumed it. */
    interruptions: count.optional(),
    /**
     * Several agents (issue #15): agent-to-agent turns in a row that led to this one (0: a
     * person's message); `from` the agent whose reply mentioned this one (a hand-off).
     */
    depth: count.optional(),
    from: id.optional(),
    /** Written with the final record: the agents this turn's reply handed off to, or why not. */
    handoffs: z.array(id).max(MAX_AGENTS_PER_SESSION).optional(),
    handoffRefused: z.object({ to: z.array(id).max(MAX_AGENTS_PER_SESSION), reason: z.string().max(500) }).optional(),
    acceptedAt: epochMs,
    updatedAt: epochMs,
    endedAt: epochMs.optional(),
    timestamp: epochMs,
  })
  .refine((t) => t.id === turnIdOf(t.messageId) || (t.agentId !== undefined && t.id === turnIdOf(t.messageId, t.agentId)), {
    path: ['id'],
    message: 'turn id must be turn:<messageId> or turn:<messageId>@<agentId>',
  })
export type AgentTurn = z.infer<typeof agentTurnSchema>

// ---------------------------------------------------------------------------------------------
// The roster (issue #15): one `kind: 'roster'` entity (id `roster`), written only by the server
// (admin tokens), upserted on every change of the session's agents; see common/agent-roster.ts.
// ---------------------------------------------------------------------------------------------
export const agentRosterSchema = z.object({
  id: z.literal(ROSTER_ENTRY_ID),
  kind: z.literal('roster'),
  agents: z.array(z.object({ id: z.string().regex(AGENT_ID_PATTERN), name: printable(100) })).max(MAX_AGENTS_PER_SESSION),
  defaultAgent: z.string().regex(AGENT_ID_PATTERN),
  unaddressed: z.enum(['default', 'all']),
  maxAgentTurnsInARow: z.number().int().min(0).max(100),
  /** What changed (absent on the first record): who added or removed which agent. */
  change: z.object({ action: z.enum(['created', 'added', 'removed', 'updated']), agentId: id.optional(), by: id }).optional(),
  timestamp: epochMs,
})
export type AgentRoster = z.infer<typeof agentRosterSchema>

export const agentStateChannelSchema = z.union([agentStateSchema, agentControlSchema, agentTurnSchema, agentRosterSchema])
export type AgentStateEntry = AgentState | AgentControl | AgentTurn | AgentRoster

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
