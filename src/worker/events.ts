/**
 * The session stream events the worker reads and writes, as the session layer defines them
 * (src/lib/sessions/channel-schemas.ts, session-events.ts). Imported as types only, so the worker bundle stays small.
 */
import type { AgentControl, AgentState, Channel, Chunk, TerminalLine, ToolCall, TurnStatus } from '../lib/sessions/channel-schemas'
import type { Operation, SessionEventHeaders } from '../lib/sessions/session-events'

export type { AgentControl, AgentState, Channel, Chunk, Operation, TerminalLine, ToolCall }

/** A State Protocol change event as read from the stream (values not re-validated). */
export interface StreamEvent {
  type: string
  key: string
  value?: unknown
  headers: Partial<SessionEventHeaders> & { operation: Operation }
}

export function isStreamEvent(item: unknown): item is StreamEvent {
  if (typeof item !== 'object' || item === null) return false
  const e = item as Record<string, unknown>
  const headers = e.headers as Record<string, unknown> | undefined
  return typeof e.type === 'string' && typeof e.key === 'string' && typeof headers?.operation === 'string'
}

/**
 * A turn in one of these has ended (channel-schemas.ts FINAL_TURN_STATUSES, repeated here: a value
 * import from there would bundle zod, ~0.7 MB of the worker's 1.1 MB; test/worker/bundle.test.ts
 * checks the two agree).
 */
export const FINAL_TURN_STATUSES: readonly TurnStatus[] = ['done', 'cancelled', 'failed']

/** Tool names the worker offers the model. */
export const TOOL_NAMES = ['shell', 'read_file', 'write_file', 'list_files'] as const
export type ToolName = (typeof TOOL_NAMES)[number]
