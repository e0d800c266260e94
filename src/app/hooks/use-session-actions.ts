import { useMemo } from 'react'
import { createSessionActions, type Identity, type SessionActions } from '../../lib/sessions/client/actions'
import type { SessionConnection } from '../../lib/sessions/client/session-db'

export function useSessionActions(
  connection: SessionConnection | undefined,
  identity: Identity | undefined,
  canWrite: boolean,
): SessionActions | undefined {
  // biome-ignore lint/correctness/useExhaustiveDependencies: identity by value: a new object with the same person must not recreate the actions
  return useMemo(
    () => (connection && identity && canWrite ? createSessionActions(connection, identity) : undefined),
    [connection, identity?.userId, identity?.displayName, identity?.color, canWrite],
  )
}
