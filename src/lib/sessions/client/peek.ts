/**
 * A glance into sessions without opening them: who is there and what the agent is doing, for the
 * session list. Each peek is a plain catch-up read (no live connection, so a list of sessions
 * does not use up the browser's connections) from where the last peek stopped; the first starts
 * from this browser's snapshot of the session when it has one, and the snapshot is kept up to
 * date, so opening the session afterwards starts from there too.
 */
import { isPresenceGone } from '../channel-constants'
import type { AgentState, Presence } from '../channel-schemas'
import { authHeaders } from './auth'
import { sessionStreamUrl } from './session-db'
import { SnapshotBuilder } from './snapshot'
import { loadSnapshot, saveSnapshot } from './snapshot-cache'

export interface SessionPeek {
  people: Presence[]
  /** the agent that changed last */
  agent?: AgentState
}

interface Entry {
  builder: SnapshotBuilder
}

function valuesOf<T>(builder: SnapshotBuilder, type: string): T[] {
  const out: T[] = []
  for (const event of builder.toSnapshot().events) {
    const e = event as { type?: string; value?: unknown }
    if (e.type === type && e.value && typeof e.value === 'object') out.push(e.value as T)
  }
  return out
}

export class SessionPeeker {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly token: string | undefined,
    private readonly origin: string = globalThis.location.origin,
  ) {}

  async peek(sessionId: string, now = Date.now()): Promise<SessionPeek> {
    const url = sessionStreamUrl(sessionId, this.origin)
    let entry = this.entries.get(sessionId)
    if (!entry) {
      entry = { builder: new SnapshotBuilder(await loadSnapshot(url)) }
      this.entries.set(sessionId, entry)
    }
    const { builder } = entry
    const before = builder.offset
    for (let page = 0; page < 50; page++) {
      const response = await fetch(`${url}?offset=${encodeURIComponent(builder.offset)}`, { headers: authHeaders(this.token) })
      if (!response.ok) throw new Error(`peek ${sessionId}: ${response.status}`)
      const items = (await response.json()) as unknown[]
      builder.apply(items, response.headers.get('stream-next-offset') ?? builder.offset)
      if (response.headers.has('stream-up-to-date') || items.length === 0) break
    }
    if (builder.offset !== before) void saveSnapshot(url, builder.toSnapshot())
    const people = valuesOf<Presence>(builder, 'presence')
      .filter((p) => !isPresenceGone(p, now))
      .sort((a, b) => a.displayName.localeCompare(b.displayName))
    const agent = valuesOf<AgentState>(builder, 'agent-state')
      .filter((s) => s.kind === 'state')
      .sort((a, b) => b.timestamp - a.timestamp)[0]
    return { people, agent }
  }
}
