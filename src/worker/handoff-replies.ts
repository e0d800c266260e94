/**
 * Other agents' replies, as far as hand-offs need them (issue #15): an agent whose turn ends
 * `done` and mentions this one hands off with its final turn record, and this agent's turn then
 * answers that turn's reply, the handing agent's last step message (`<from>:t<k>:s<s>`). The
 * record comes after the reply's chunks (one producer writes both, in order), so by then the
 * reply is known. Only the highest step of each turn is kept: earlier steps are never a reply,
 * and keeping one step per turn bounds what every view holds of the others.
 */
import type { Chunk } from './events'

const STEP_ID = /^(.*):t(\d+):s(\d+)$/

interface LastStep {
  messageId: string
  step: number
  parts: Map<number, string>
}

export class HandoffReplies {
  /** `<agentId>:t<k>` → that turn's highest step so far. */
  private readonly lastSteps = new Map<string, LastStep>()
  private readonly byMessage = new Map<string, LastStep>()

  /** Takes another agent's assistant chunk. */
  apply(chunk: Chunk): void {
    if (chunk.role !== 'assistant') return
    const match = STEP_ID.exec(chunk.messageId)
    if (!match || match[1] !== chunk.author) return
    const key = `${match[1]}:t${match[2]}`
    const step = Number(match[3])
    let last = this.lastSteps.get(key)
    if (last && step < last.step) return
    if (!last || step > last.step) {
      if (last) this.byMessage.delete(last.messageId)
      last = { messageId: chunk.messageId, step, parts: new Map() }
      this.lastSteps.set(key, last)
      this.byMessage.set(chunk.messageId, last)
    }
    // A folded chunk (compaction) holds the whole text so far.
    if (chunk.folded !== undefined) last.parts.clear()
    last.parts.set(chunk.seq, chunk.delta)
  }

  /** The reply message of `agentId`'s turn `turn` (its step 0 when none of it was seen). */
  replyOf(agentId: string, turn: number): string {
    return this.lastSteps.get(`${agentId}:t${turn}`)?.messageId ?? `${agentId}:t${turn}:s0`
  }

  text(messageId: string): string {
    const last = this.byMessage.get(messageId)
    if (!last) return ''
    return [...last.parts.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, t]) => t)
      .join('')
  }
}
