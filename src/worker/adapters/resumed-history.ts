/**
 * The conversation so far as one text block, for an agent program that starts a fresh session of
 * its own (after a worker crash, or in a new worker) while Tether's stream holds what was said:
 * the agent's earlier turns and their tool calls, newest 40 messages, each block clipped. The
 * adapters send it as a separate text part before the prompt, so the model (and the echo test
 * double, which reads the last text block) answers the message, not the transcript.
 */
import type { ProviderMessage } from '../providers/types'

const HISTORY_MESSAGES = 40

/** Null when there is nothing to resume; `maxChars` clips each text, tool input and result. */
export function resumedHistory(history: readonly ProviderMessage[], maxChars: number): string | null {
  const clip = (text: string) => (text.length > maxChars ? `${text.slice(0, maxChars)}…` : text)
  const lines: string[] = []
  for (const message of history.slice(-HISTORY_MESSAGES)) {
    const who = message.role === 'user' ? 'User' : 'You'
    for (const block of message.content) {
      if (block.type === 'text' && block.text.trim() !== '') lines.push(`${who}: ${clip(block.text)}`)
      else if (block.type === 'tool_use') lines.push(`You called ${block.name}: ${clip(JSON.stringify(block.input))}`)
      else if (block.type === 'tool_result') lines.push(`${block.isError ? 'The tool failed' : 'The tool returned'}: ${clip(block.content)}`)
    }
  }
  if (lines.length === 0) return null
  return `<conversation-so-far>\nThis conversation was resumed in a new process; what was said before:\n${lines.join('\n')}\n</conversation-so-far>`
}
