/**
 * Session records as the API shows them, and the request bodies it accepts. Browser-safe.
 */
import { z } from 'zod'
import { AGENT_ID_PATTERN, MAX_AGENTS_PER_SESSION, type Roster } from '../common/agent-roster'
import { AGENT_ADAPTERS } from '../common/session-contract'
import type { AGENT_STATUSES } from './channel-schemas'

export type AgentStatus = (typeof AGENT_STATUSES)[number]

import { SESSION_PATTERNS, SESSION_STATUSES, type SessionPattern, type SessionStatus } from './session-states'

// The constants live in session-states.ts (no zod, so the browser's entry chunk stays small).
export { SESSION_PATTERNS, SESSION_STATUSES, LIVE_STATUSES, isLiveStatus, type SessionPattern, type SessionStatus } from './session-states'

/** 'terminated' (API), 'completed' / 'failed' (ephemeral agents finished), 'limit:<name>', 'stream-closed', 'deleted'. */
export type EndReason = string

export const sessionLimitsSchema = z
  .object({
    /** End (hybrid: suspend) after this long without activity. */
    maxIdleTimeMs: z.number().int().positive().nullable(),
    maxLifetimeMs: z.number().int().positive().nullable(),
    maxBudgetUsd: z.number().positive().nullable(),
    maxTurns: z.number().int().positive().nullable(),
  })
  .partial()
  .strict()
export type SessionLimitsInput = z.infer<typeof sessionLimitsSchema>
export interface SessionLimits {
  maxIdleTimeMs: number | null
  maxLifetimeMs: number | null
  maxBudgetUsd: number | null
  maxTurns: number | null
}

export const agentConfigSchema = z
  .object({
    model: z.string().min(1).max(200).optional(),
    /** Model provider for workers ('anthropic', 'openai', 'echo', …); the worker decides. */
    provider: z.string().min(1).max(100).optional(),
    systemPrompt: z.string().max(100_000).optional(),
    allowedTools: z.array(z.string().min(1).max(200)).max(200).optional(),
    /** Which agent program runs it (issue #11); `tether` when absent. */
    adapter: z.enum(AGENT_ADAPTERS).optional(),
    /** The personal agent profile it was made from (its owner's credential pays for its calls). */
    profileId: z.string().min(1).max(100).optional(),
  })
  .strict()
export type AgentConfig = z.infer<typeof agentConfigSchema>

/**
 * One agent of a session (issue #15): an id (a slug: `@id` addresses it, its chunks are
 * `<id>:t<k>:s<s>`), a name people see, its model, prompt, tools and its own limits.
 */
export const sessionAgentSchema = agentConfigSchema
  .extend({
    id: z.string().regex(AGENT_ID_PATTERN, 'agent ids are 1-32 of a-z, 0-9, _ and -, starting with a letter'),
    name: z.string().min(1).max(100).optional(),
    limits: z
      .object({ maxBudgetUsd: z.number().positive().nullable(), maxTurns: z.number().int().positive().nullable() })
      .partial()
      .strict()
      .optional(),
  })
  .strict()
export type SessionAgentInput = z.input<typeof sessionAgentSchema>
export interface SessionAgent extends AgentConfig {
  id: string
  name: string
  limits: { maxBudgetUsd: number | null; maxTurns: number | null }
}

export const agentRoutingSchema = z
  .object({
    defaultAgent: z.string().regex(AGENT_ID_PATTERN).optional(),
    /** Who answers a message that mentions no agent: the default agent, or all of them. */
    unaddressed: z.enum(['default', 'all']).optional(),
    maxAgentTurnsInARow: z.number().int().min(0).max(100).optional(),
  })
  .strict()
export type AgentRoutingInput = z.infer<typeof agentRoutingSchema>
export type AgentRouting = Omit<Roster, 'agents'>

const agentListSchema = z
  .array(sessionAgentSchema)
  .min(1)
  .max(MAX_AGENTS_PER_SESSION)
  .refine((list) => new Set(list.map((a) => a.id)).size === list.length, 'agent ids must be unique')

const metadataSchema = z
  .record(z.string().max(100), z.string().max(1000))
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 metadata keys')

export const createSessionSchema = z
  .object({
    pattern: z.enum(SESSION_PATTERNS).default('hybrid'),
    title: z.string().max(200).optional(),
    agent: agentConfigSchema.optional(),
    /** Several agents (issue #15); instead of `agent`. */
    agents: agentListSchema.optional(),
    routing: agentRoutingSchema.optional(),
    limits: sessionLimitsSchema.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict()
  .refine((c) => !(c.agent && c.agents), { message: 'give agent or agents, not both', path: ['agents'] })
export type CreateSessionInput = z.input<typeof createSessionSchema>

export const updateSessionSchema = z
  .object({
    title: z.string().max(200).optional(),
    agent: agentConfigSchema.optional(),
    /** Replaces the agent list (a live session: agents added start, removed ones stop). */
    agents: agentListSchema.optional(),
    routing: agentRoutingSchema.optional(),
    limits: sessionLimitsSchema.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict()
  .refine((u) => Object.keys(u).length > 0, 'nothing to update')
  .refine((u) => !(u.agent && u.agents), { message: 'give agent or agents, not both', path: ['agents'] })

export const postMessageSchema = z
  .object({
    text: z
      .string()
      .min(1)
      .max(256 * 1024),
    /** Defaults to the token's subject. Admin only may set it. */
    author: z.string().min(1).max(200).optional(),
    messageId: z.string().min(1).max(200).optional(),
    turn: z.number().int().nonnegative().optional(),
  })
  .strict()

export const terminateSchema = z.object({ reason: z.string().min(1).max(200).optional() }).strict()
export const joinSchema = z.object({ displayName: z.string().min(1).max(100).optional() }).strict()

export const listQuerySchema = z.object({
  status: z.enum(SESSION_STATUSES).optional(),
  pattern: z.enum(SESSION_PATTERNS).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(500).optional(),
})

export interface SessionRecord {
  id: string
  pattern: SessionPattern
  status: SessionStatus
  title: string | null
  /** The default agent's config (seed 001's single-agent view of `agents`). */
  agent: AgentConfig
  /** Every agent of the session (issue #15); one `agent` entry for a single-agent session, none without a model. */
  agents: SessionAgent[]
  routing: AgentRouting
  limits: SessionLimits
  usage: { tokensIn: number; tokensOut: number; costUsd: number; turns: number; lastActivityAt: number | null }
  metadata: Record<string, string>
  createdBy: string | null
  /** Epoch ms. */
  createdAt: number
  updatedAt: number
  endedAt: number | null
  endReason: EndReason | null
  /** Stream path relative to the streams root: `sessions/<id>`. */
  streamPath: string
  /** Set on a fork: the session, turn and stream offset it was forked at (sessions/fork.ts). */
  forkedFrom: ForkLineage | null
}

export interface ForkLineage {
  sessionId: string
  /** The source's turn (1-based) whose end is the fork point. */
  turn: number
  /** The fork's first own offset: everything before it is the source's log up to the end of that turn. */
  offset: string
}

export const forkSessionSchema = z
  .object({
    /** The turn (1-based, as the agent numbers them) whose end is the fork point. */
    turn: z.number().int().positive().optional(),
    /** Or the user message that opened that turn. */
    messageId: z.string().min(1).max(200).optional(),
    title: z.string().max(200).optional(),
  })
  .strict()
  .refine((f) => f.turn !== undefined || f.messageId !== undefined, { message: 'give turn or messageId', path: ['turn'] })
export type ForkSessionInput = z.infer<typeof forkSessionSchema>

export const workspaceSnapshotSchema = z
  .object({
    turn: z.number().int().positive(),
    messageId: z.string().min(1).max(200).optional(),
  })
  .strict()

export interface SessionStats {
  total: number
  byStatus: Record<SessionStatus, number>
  byPattern: Record<SessionPattern, number>
  usage: { tokensIn: number; tokensOut: number; costUsd: number; turns: number }
}

export { sessionStreamPath } from '../common/session-contract'
