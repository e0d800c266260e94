/**
 * What else was said in a session of several agents (issue #15): people's messages addressed to
 * other agents and the other agents' finished replies, in stream order. An agent's model sees the
 * part of it that came since its previous turn, before the turn's own input, so agents working
 * together know what the others said without being addressed each time. A single-agent session
 * has none of it (every message is the agent's own), so its model input is unchanged.
 */

export interface ContextEntry {
  /** Who said it: a person's user id, or an agent's id. */
  who: string
  messageId: string
  agent: boolean
}

/** Entries shown before one turn, and the characters of each (older ones are left out, and said so). */
const MAX_ENTRIES = 20
const MAX_ENTRY_CHARS = 2_000

export class SessionContext {
  readonly entries: ContextEntry[] = []
  private readonly ids = new Set<string>()

  /** Records an entry once (a record replayed twice is one entry). */
  add(entry: ContextEntry): void {
    if (this.ids.has(entry.messageId)) return
    this.ids.add(entry.messageId)
    this.entries.push(entry)
  }

  get size(): number {
    return this.entries.length
  }

  /** The entries in [from, to) as one text block for the model, or '' when there are none. */
  text(from: number, to: number, textOf: (entry: ContextEntry) => string): string {
    if (to <= from) return ''
    const shown = this.entries.slice(Math.max(from, to - MAX_ENTRIES), to)
    const left = to - from - shown.length
    const lines = shown.map((e) => {
      const text = textOf(e)
      const cut = text.length > MAX_ENTRY_CHARS ? `${text.slice(0, MAX_ENTRY_CHARS)} …` : text
      return `${e.agent ? `@${e.who}` : e.who}: ${cut}`
    })
    const head = left > 0 ? `(${left} earlier messages left out)\n` : ''
    return `Meanwhile in this session (not addressed to you):\n${head}${lines.join('\n')}\n`
  }
}
