import { useEffect, useMemo, useRef, useState, type RefObject } from 'react'
import type { Presence } from '../../lib/sessions/channel-schemas'
import { createSessionActions, type SessionActions } from '../../lib/sessions/client/actions'
import { decodeToken } from '../../lib/sessions/client/auth'
import { deriveWhoIsHere } from '../../lib/sessions/client/derive'
import { resolveIdentity } from '../../lib/sessions/client/identity'
import { PresenceController } from '../../lib/sessions/client/presence'
import type { SessionConnection } from '../../lib/sessions/client/session-db'
import { leaveSession } from '../../lib/sessions/client/event-writer-client'
import { usePresenceRows } from './use-session-collections'

/** The role this page's token gives it in presence (what the server checks the entry against). */
function presenceRole(token: string | undefined): Presence['role'] {
  const role = decodeToken(token)?.role
  return role === 'viewer' || role === 'collaborator' || role === 'admin' ? role : undefined
}

/**
 * Who writes this page's presence: the page's actions, or for a viewer with a user (a view link
 * exchanged through join) a writer of its own, since a viewer may write its own presence entry
 * and nothing else (the page has no actions for it).
 */
function usePresenceWriter(connection: SessionConnection | undefined, actions: SessionActions | undefined): SessionActions | undefined {
  return useMemo(() => {
    if (actions || !connection) return actions
    const info = decodeToken(connection.token)
    if (info?.role !== 'viewer' || !info.sub) return undefined
    return createSessionActions(connection, resolveIdentity(connection.token))
  }, [connection, actions])
}

/**
 * Joins this person to the session's presence while mounted: 10 s heartbeat, cursor positions
 * over `area` (as fractions of it) throttled to 50 ms and taken away (null) when the pointer
 * leaves the area or the window, idle after a minute without input, away while the tab is
 * hidden, and a presence delete when the page goes away. Viewers take part as watchers
 * (`role: 'viewer'`). Returns who is here.
 */
export function usePresence(
  connection: SessionConnection | undefined,
  actions: SessionActions | undefined,
  area: RefObject<HTMLElement | null>,
  pane?: string,
): { here: Presence[]; controller?: PresenceController } {
  const rows = usePresenceRows(connection)
  const [now, setNow] = useState(() => Date.now())
  const controllerRef = useRef<PresenceController | undefined>(undefined)
  const writer = usePresenceWriter(connection, actions)

  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 5000)
    return () => clearInterval(t)
  }, [])

  useEffect(() => {
    if (!connection || !writer) return
    const controller = new PresenceController((patch) => writer.updatePresence(patch))
    controllerRef.current = controller
    const role = presenceRole(connection.token)
    controller.start({ focusedPane: pane ?? null, ...(role ? { role } : {}) })
    const onInput = () => controller.input()
    const onMove = (e: PointerEvent) => {
      const el = area.current
      if (!el) return
      const r = el.getBoundingClientRect()
      const x = (e.clientX - r.left) / r.width
      const y = (e.clientY - r.top) / r.height
      // Outside the shared area (over the header, say): a position there means nothing to others.
      if (x < 0 || y < 0 || x > 1 || y > 1) controller.clearCursor()
      else controller.moveCursor({ x: Math.round(x * 10_000) / 10_000, y: Math.round(y * 10_000) / 10_000 })
    }
    const onPointerGone = () => controller.clearCursor()
    const el = area.current
    const onVisibility = () => controller.setHidden(document.visibilityState === 'hidden')
    const onLeave = () => leaveSession({ sessionId: connection.sessionId, token: connection.token }, writer.identity.userId)
    window.addEventListener('keydown', onInput)
    window.addEventListener('pointerdown', onInput)
    window.addEventListener('wheel', onInput, { passive: true })
    window.addEventListener('pointermove', onMove, { passive: true })
    el?.addEventListener('pointerleave', onPointerGone)
    document.documentElement.addEventListener('pointerleave', onPointerGone)
    window.addEventListener('blur', onPointerGone)
    document.addEventListener('visibilitychange', onVisibility)
    window.addEventListener('pagehide', onLeave)
    return () => {
      controller.stop()
      controllerRef.current = undefined
      window.removeEventListener('keydown', onInput)
      window.removeEventListener('pointerdown', onInput)
      window.removeEventListener('wheel', onInput)
      window.removeEventListener('pointermove', onMove)
      el?.removeEventListener('pointerleave', onPointerGone)
      document.documentElement.removeEventListener('pointerleave', onPointerGone)
      window.removeEventListener('blur', onPointerGone)
      document.removeEventListener('visibilitychange', onVisibility)
      window.removeEventListener('pagehide', onLeave)
    }
  }, [connection, writer, area, pane])

  const here = useMemo(() => deriveWhoIsHere(rows, now), [rows, now])
  return { here, controller: controllerRef.current }
}
