/**
 * The session contract: the paths, ids and exit codes that the browser, the worker program and
 * the server must agree on, spelled once. Pure and browser-safe (no node imports): the worker
 * bundle and the client data layer import it as well as the server.
 */

/** Where the Durable Streams protocol is mounted; `POST` on the mount itself is the session writer. */
export const STREAMS_MOUNT = '/api/streams'
/** Where the sessions REST API is mounted. */
export const SESSIONS_MOUNT = '/api/sessions'

const trimSlashes = (base: string): string => base.replace(/\/+$/, '')

/** A session's stream path relative to the streams root (as stored; the id is not encoded). */
export function sessionStreamPath(sessionId: string): string {
  return `sessions/${sessionId}`
}

/** The session id of a stream path, or null when the path is not a session stream. */
export function sessionIdOfStreamPath(path: string): string | null {
  const prefix = sessionStreamPath('')
  if (!path.startsWith(prefix)) return null
  const id = path.slice(prefix.length)
  return id.length > 0 && !id.includes('/') ? id : null
}

/**
 * A session's stream URL under a streams base: a path (`/api/streams`), or an absolute URL
 * (`http://host:3000/api/streams`).
 */
export function sessionStreamUrl(streamsBase: string, sessionId: string): string {
  return `${trimSlashes(streamsBase)}/${sessionStreamPath(encodeURIComponent(sessionId))}`
}

/** The UI page of a session (share links). */
export function sessionPagePath(sessionId: string): string {
  return `/${sessionStreamPath(encodeURIComponent(sessionId))}`
}

/** Sub-resources of a session in the sessions API. */
export type SessionApiAction = 'messages' | 'model' | 'join' | 'terminate' | 'share' | 'fork' | 'workspace-snapshots'

/**
 * Path of a session's record (no action) or one of its actions in the sessions API; with
 * `serverUrl`, the absolute URL (what a worker calls).
 */
export function sessionApiPath(sessionId: string, action?: SessionApiAction, serverUrl = ''): string {
  const record = `${trimSlashes(serverUrl)}${SESSIONS_MOUNT}/${encodeURIComponent(sessionId)}`
  return action ? `${record}/${action}` : record
}

/** Channels whose entries are immutable: a line or chunk is written once, never updated. */
export function isImmutableChannel(channel: string): boolean {
  return channel === 'chunk' || channel === 'terminal'
}

/**
 * Event id of an entry on an immutable channel: `<channel>:<id>`. Every writer (the server's
 * event builder, the worker's publisher) derives it the same way, so the same line or chunk
 * written twice, by a retry or by a restarted worker, is one event.
 */
export function immutableEventId(channel: string, entityId: string): string {
  return `${channel}:${entityId}`
}

/** Worker exit: stopped on request, or its session ended. Not restarted. */
export const EXIT_STOPPED = 0
/** Worker exit: crashed (restarted with backoff). */
export const EXIT_CRASHED = 1
/** Worker exit: fenced by a newer worker for its session (EX_TEMPFAIL). Not restarted. */
export const EXIT_FENCED = 75

/**
 * The agent programs a worker can run for an agent (issue #11), behind one interface in the
 * worker (src/worker/adapters/): `tether` is Tether's own agent loop, `opencode` drives
 * `opencode serve`, `claude-agent-sdk` drives the Claude Agent SDK. All three publish the same
 * channels and call models only through the server's gateway.
 */
export const AGENT_ADAPTERS = ['tether', 'opencode', 'claude-agent-sdk'] as const
export type AgentAdapterName = (typeof AGENT_ADAPTERS)[number]
export const DEFAULT_AGENT_ADAPTER: AgentAdapterName = 'tether'
