/**
 * The worker's half of "turns you can see" (issue #10): keeps each turn's record on the
 * agent-state channel (`kind: 'turn'`, id `turn:<messageId>`, or `turn:<messageId>@<agentId>` for
 * an agent other than the default `agent`: issue #15) current as the turn moves:
 * streaming at the first token, tool while a tool runs, then done / cancelled / failed. The server
 * wrote `accepted` for a person's message already; a hand-off's `accepted` is written here
 * (accept). A turn this worker resumes after a crash is first marked `interrupted`.
 * Only changes are published (not one record per token). A `done` record names the agents the
 * reply hands off to (`handoffs`), or why it may not (`handoffRefused`: the cap on agent turns in
 * a row).
 */
import { handoffsOf, turnIdFor } from '../lib/common/agent-roster'
import type { AgentTurn, TurnStatus } from '../lib/sessions/channel-schemas'
import { FINAL_TURN_STATUSES } from './events'
import { log } from './log'
import type { Publisher } from './publisher'
import type { SessionView } from './session-view'

export interface TurnUpdate {
  reason?: string
  stopRequest?: string
}

/** A previous run got this far, so a run that starts the turn again resumes an interrupted one. */
const STARTED: readonly TurnStatus[] = ['streaming', 'tool', 'interrupted']

export class TurnRecorder {
  /** What this run published last per turn (the view may lag behind our own writes). */
  private readonly mine = new Map<number, AgentTurn>()

  constructor(
    private readonly publisher: Pick<Publisher, 'publish' | 'now'>,
    private readonly view: SessionView,
    private readonly agentId: string,
  ) {}

  private current(turn: number): AgentTurn | undefined {
    const messageId = this.view.messageIdOf(turn)
    return this.mine.get(turn) ?? (messageId === undefined ? undefined : this.view.turnStates.get(messageId))
  }

  /** A hand-off's `accepted` record (the server writes it only for people's messages); once. */
  accept(turn: number): void {
    if (this.current(turn) === undefined) this.update(turn, 'accepted')
  }

  /** Upserts the record of `turn` with `status` (nothing when unchanged, or after it has ended). */
  update(turn: number, status: TurnStatus, extra: TurnUpdate = {}): void {
    const trigger = this.view.trigger(turn)
    if (trigger === undefined) return
    const { messageId } = trigger
    const had = this.current(turn)
    if (had && FINAL_TURN_STATUSES.includes(had.status)) return
    if (had?.status === status && extra.reason === undefined) return
    const now = this.publisher.now()
    const final = FINAL_TURN_STATUSES.includes(status)
    // Hand-offs are read from the reply with the roster as it is when the turn ends.
    const handoff = status === 'done' ? handoffsOf(this.view.replyText(turn), this.agentId, trigger.depth, this.view.currentRoster()) : null
    const record: AgentTurn = {
      id: turnIdFor(messageId, this.agentId),
      kind: 'turn',
      messageId,
      turn,
      agentId: this.agentId,
      status,
      depth: trigger.depth,
      ...(trigger.from !== undefined ? { from: trigger.from } : {}),
      ...(handoff && handoff.to.length > 0 ? { handoffs: handoff.to } : {}),
      ...(handoff?.refused ? { handoffRefused: handoff.refused } : {}),
      acceptedAt: had?.acceptedAt ?? now,
      updatedAt: now,
      timestamp: now,
      ...(had?.interruptions ? { interruptions: had.interruptions } : {}),
      ...(status === 'interrupted' ? { interruptions: (had?.interruptions ?? 0) + 1 } : {}),
      ...(extra.reason !== undefined ? { reason: extra.reason.slice(0, 2000) } : {}),
      ...(extra.stopRequest !== undefined ? { stopRequest: extra.stopRequest } : {}),
      ...(final ? { endedAt: now } : {}),
    }
    this.mine.set(turn, record)
    this.publisher.publish('agent-state', record)
    if (record.handoffs) log.info({ agentId: this.agentId, turn, depth: trigger.depth, to: record.handoffs }, 'handing off')
    if (record.handoffRefused) log.info({ agentId: this.agentId, turn, depth: trigger.depth, ...record.handoffRefused }, 'hand-off refused')
  }

  /**
   * Called when this run starts `turn`: a record a previous run left half-way (streaming, tool,
   * interrupted) means that run died mid-turn; say so before going on.
   */
  begin(turn: number): void {
    if (this.mine.has(turn)) return
    const had = this.current(turn)
    if (had && STARTED.includes(had.status)) this.update(turn, 'interrupted', { reason: 'worker restarted' })
  }
}
