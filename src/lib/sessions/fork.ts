/**
 * Forking a session at the end of one of its turns (POST /api/sessions/:id/fork): a new session
 * whose stream is a zero-copy fork of the source's up to that point (fork-point.ts, fork-stream.ts)
 * and whose worker starts from the source's workspace snapshot of that turn (workers/workspaces.ts),
 * or empty when none was kept (said in the answer and on the fork's stream). Same pattern, agent,
 * limits and metadata as the source. The source is not touched: neither its record nor its stream.
 */
import { DEFAULT_AGENT_ID } from '../common/agent-roster'
import { buildSessionEvent } from './session-events'
import { HttpError } from './http'
import type { SessionManager } from './manager'
import { SessionNotFoundError, SessionStreamGoneError } from './session-errors'
import { forkPositionAfter, readWholeStream } from './fork-point'
import { findTurnEnd, TurnNotFoundError } from './fork-turns'
import { type ForkSessionInput, type SessionRecord, sessionStreamPath } from './session-types'
import { StreamNotFoundError, StreamsProtocolError } from './streams-client'

export type ForkWorkspace = 'copied' | 'missing'

export interface ForkResult {
  session: SessionRecord
  workspace: ForkWorkspace
}

/** The note a fork's stream starts its own part with: where it came from and what its agent finds. */
export function forkNote(source: SessionRecord, turn: number, workspace: ForkWorkspace): string {
  const name = source.title ?? source.id
  return workspace === 'copied'
    ? `Forked from "${name}" at the end of turn ${turn}. The agent's workspace is as it was then.`
    : `Forked from "${name}" at the end of turn ${turn}. No workspace snapshot of that turn was kept: the agent starts with an empty workspace.`
}

export async function forkSession(
  manager: SessionManager,
  sourceId: string,
  input: ForkSessionInput,
  createdBy: string | null,
): Promise<ForkResult> {
  const source = await manager.get(sourceId)
  if (!source) throw new SessionNotFoundError(sourceId, 'id')
  const path = sessionStreamPath(sourceId)
  let snapshot: Awaited<ReturnType<typeof readWholeStream>>
  try {
    snapshot = await readWholeStream(manager.streams, path)
  } catch (err) {
    if (err instanceof StreamNotFoundError) throw new SessionStreamGoneError(sourceId)
    throw err
  }
  let end: ReturnType<typeof findTurnEnd>
  try {
    end = findTurnEnd(snapshot.events, input)
  } catch (err) {
    if (err instanceof TurnNotFoundError) throw new HttpError(400, err.message, err.field)
    throw err
  }
  const position = await forkPositionAfter(manager.streams, path, snapshot, end.count)
  const kept = manager.workerCallbacks.workspaceSnapshot?.(sourceId, end.turn) ?? null
  const workspace: ForkWorkspace = kept ? 'copied' : 'missing'
  const create = (at: { offset: string; subOffset: number }) =>
    manager.create({
      pattern: source.pattern,
      title: input.title ?? `${source.title ?? source.id} (fork at turn ${end.turn})`,
      // Several agents (issue #15): the fork keeps the source's list and routing (a roster entry
      // follows the fork point); a single-agent source stays a single-agent fork.
      ...(isAgentList(source) ? { agents: source.agents, routing: source.routing } : { agent: source.agent }),
      limits: source.limits,
      metadata: source.metadata,
      createdBy,
      fork: { sourcePath: path, ...at, sessionId: sourceId, turn: end.turn },
    })
  let session: SessionRecord
  try {
    session = await create(position)
  } catch (err) {
    // Compaction rewrote rows after the fork point, so positions are no longer stored-byte sums
    // and the server refused the computed offset. The offset recorded when the turn's workspace
    // was snapshotted is one it handed out itself (valid for good): fork there.
    if (!(err instanceof StreamsProtocolError && err.status === 400)) throw err
    if (!kept?.offset)
      throw new HttpError(409, `the stream was compacted after turn ${end.turn} and no snapshot of it records where it ended`, 'turn')
    session = await create({ offset: kept.offset, subOffset: 0 })
  }
  // A system message, not a user one: it opens no turn, and every reader shows it in the conversation.
  const note = buildSessionEvent(
    {
      channel: 'chunk',
      data: {
        messageId: `fork:${session.id}`,
        role: 'system',
        author: 'system',
        turn: end.turn,
        seq: 0,
        delta: forkNote(source, end.turn, workspace),
        done: true,
      },
    },
    { now: Date.now() },
  )
  if (note.ok) await manager.append(session.id, [note.value])
  return { session: (await manager.get(session.id)) ?? session, workspace }
}

const isAgentList = (s: SessionRecord): boolean => s.agents.length > 1 || (s.agents.length === 1 && s.agents[0]!.id !== DEFAULT_AGENT_ID)
