/**
 * The session stream's State Protocol schema as the browser uses it: the same collections, types
 * and keys as channel-schemas.ts `sessionStateSchema`, but each collection's Standard Schema takes
 * a value as it is instead of checking it with zod. Synced rows are never validated by TanStack DB
 * anyway (only the page's own optimistic writes are), and the server validates every write and
 * refuses a bad one with its reason (the action then rolls back), so checking in the browser only
 * cost the page ~90 KB of script and the schemas' construction before it could open.
 */
import { createStateSchema } from '@durable-streams/state'
import type { AgentStateEntry, Chunk, Presence, TerminalLine, ToolCall } from '../channel-schemas'

/** A Standard Schema (v1) whose output is its input, typed as T. */
interface Trusted<T> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => { readonly value: T }
    readonly types?: { readonly input: T; readonly output: T }
  }
}

function trusted<T>(): Trusted<T> {
  return { '~standard': { version: 1, vendor: 'tether', validate: (value) => ({ value: value as T }) } }
}

export const clientStateSchema = createStateSchema({
  chunks: { schema: trusted<Chunk>(), type: 'chunk', primaryKey: 'id' },
  toolCalls: { schema: trusted<ToolCall>(), type: 'tool-call', primaryKey: 'id' },
  terminal: { schema: trusted<TerminalLine>(), type: 'terminal', primaryKey: 'id' },
  presence: { schema: trusted<Presence>(), type: 'presence', primaryKey: 'id' },
  agentState: { schema: trusted<AgentStateEntry>(), type: 'agent-state', primaryKey: 'id' },
})
export type ClientStateSchema = typeof clientStateSchema
