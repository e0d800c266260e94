/**
 * The worker's side of workspace snapshots (issue #10, fork a session with its workspace): after
 * each turn settles and before the next one starts, ask the server to snapshot this session's
 * work dir (`POST /api/sessions/<id>/workspace-snapshots {turn, messageId}`, worker token), so a
 * fork at that turn starts from the files as they were. Same transport as the model gateway:
 * plain HTTP to `serverUrl` (for docker workers, the server link's loopback relay).
 *
 * Never fatal: a server without the feature (404 / 501), a refusal or a timeout is logged and
 * the agent goes on with the next turn.
 */
import { sessionApiPath } from '../lib/common/session-contract'
import { httpFetch } from './http-fetch'
import { log } from './log'

export const SNAPSHOT_TIMEOUT_MS = 30_000

export interface SnapshotTarget {
  serverUrl: string
  sessionId: string
  token: string
  fetch?: typeof fetch
  timeoutMs?: number
}

/** Resolves when the server answered (or failed, or 30 s passed); answers whether it took the snapshot. */
export async function requestWorkspaceSnapshot(target: SnapshotTarget, turn: number, messageId: string): Promise<boolean> {
  const url = sessionApiPath(target.sessionId, 'workspace-snapshots', target.serverUrl)
  try {
    const response = await (target.fetch ?? httpFetch)(url, {
      method: 'POST',
      signal: AbortSignal.timeout(target.timeoutMs ?? SNAPSHOT_TIMEOUT_MS),
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ turn, messageId }),
    })
    const text = await response.text().catch(() => '')
    if (response.ok) return true
    const absent = response.status === 404 || response.status === 501
    log[absent ? 'debug' : 'warn']({ turn, status: response.status, body: text.slice(0, 500) }, 'workspace snapshot not taken')
  } catch (err) {
    log.warn({ turn, error: err instanceof Error ? err.message : String(err) }, 'workspace snapshot request failed')
  }
  return false
}
