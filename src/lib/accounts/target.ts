/**
 * Which session a request is about, read from its URL the way the handlers read it: the sessions
 * API's first segment, the writer's `?sessionId=`, the protocol's `sessions/<id>` stream path. A
 * person's rights differ per session, so account claims are made for that one session. A path
 * read differently here than by a handler only makes the claims cover another id: refused, never
 * widened.
 */
import { sessionIdOfStreamPath } from '../common/session-contract'
import { NESTED_PROTOCOL_PATH, PROTOCOL_ALIAS_PATH, SESSIONS_BASE_PATH, STREAMS_BASE_PATH } from '../protocol-mounts'
import { mountOf, routeRequestPath } from '../streams/paths'

const STREAM_MOUNTS = [STREAMS_BASE_PATH, PROTOCOL_ALIAS_PATH, NESTED_PROTOCOL_PATH]

export function targetSessionOf(url: URL): string | null {
  const p = url.pathname
  if (p.startsWith(`${SESSIONS_BASE_PATH}/`)) {
    const first = p.slice(SESSIONS_BASE_PATH.length + 1).split('/', 1)[0]
    if (!first || first === 'stats') return null
    try {
      return decodeURIComponent(first)
    } catch {
      return null
    }
  }
  if (p === STREAMS_BASE_PATH || p === `${STREAMS_BASE_PATH}/`) return url.searchParams.get('sessionId')
  const mount = mountOf(p, STREAM_MOUNTS)
  if (!mount) return null
  const target = routeRequestPath(p, mount)
  return target.kind === 'stream' ? sessionIdOfStreamPath(target.path) : null
}
