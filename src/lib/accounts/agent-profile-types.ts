/**
 * Personal agent profiles as the API accepts and shows them (issue #11; specs/accounts.md,
 * Personal agents). Browser-safe: the "My agents" page validates with the same schemas. A view
 * never carries the credential, only whether one is set and when it last changed.
 */
import { z } from 'zod'
import { AGENT_ADAPTERS, type AgentAdapterName } from '../common/session-contract'

const text = (max: number) => z.string().trim().min(1).max(max)
const noControl = /^[^\p{Cc}]*$/u

/** A provider credential as people paste it: one line, no spaces (an API key or token). */
const credentialSchema = z
  .string()
  .trim()
  .min(8, 'a credential is at least 8 characters')
  .max(4096)
  .regex(/^[^\s\p{Cc}]+$/u, 'a credential is one word: no spaces or control characters')

const limitsSchema = z
  .object({ maxBudgetUsd: z.number().positive().max(1_000_000).nullable(), maxTurns: z.number().int().positive().max(1_000_000).nullable() })
  .partial()
  .strict()

export const createProfileSchema = z
  .object({
    name: text(100).regex(noControl, 'no control characters'),
    description: z.string().trim().max(2000).optional(),
    adapter: z.enum(AGENT_ADAPTERS).default('tether'),
    provider: text(100).optional(),
    model: text(200).optional(),
    systemPrompt: z.string().max(100_000).optional(),
    allowedTools: z.array(text(200)).max(200).optional(),
    limits: limitsSchema.optional(),
    credential: credentialSchema.optional(),
  })
  .strict()
export type CreateProfileInput = z.input<typeof createProfileSchema>

/** PATCH: any field; null clears an optional one (`credential: null` removes the credential). */
export const updateProfileSchema = z
  .object({
    name: text(100).regex(noControl, 'no control characters'),
    description: z.string().trim().max(2000).nullable(),
    adapter: z.enum(AGENT_ADAPTERS),
    provider: text(100).nullable(),
    model: text(200).nullable(),
    systemPrompt: z.string().max(100_000).nullable(),
    allowedTools: z.array(text(200)).max(200).nullable(),
    limits: limitsSchema,
    credential: credentialSchema.nullable(),
  })
  .partial()
  .strict()
  .refine((u) => Object.keys(u).length > 0, 'nothing to update')
export type UpdateProfileInput = z.input<typeof updateProfileSchema>

export interface AgentProfileView {
  id: string
  /** The owner. */
  userId: string
  name: string
  description: string | null
  adapter: AgentAdapterName
  provider: string | null
  model: string | null
  systemPrompt: string | null
  allowedTools: string[] | null
  limits: { maxBudgetUsd: number | null; maxTurns: number | null }
  /** Whether a credential is set, never what it is. */
  credential: { set: boolean; updatedAt: number | null }
  createdAt: number
  updatedAt: number
}

/** Where the API lives. */
export const AGENTS_PATH = '/api/agents'
