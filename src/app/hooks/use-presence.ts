import { useEffect, useMemo, useRef, useState, type RefObject } from 'react'
import type { Presence } from '../../lib/sessions/channel-schemas'
import type { SessionActions } from '../../lib/sessions/client/actions'
import { deriveWhoIsHere } from '../../lib/sessions/client/derive'
import { PresenceController } from '../../lib/sessions/client/presence'
import type { SessionConnection } from '../../lib/sessions/client/session-db'
import { leaveSession } from '../../lib/sessions/client/event-writer-client'
import { usePresenceRows } from './use-session-collections'

/**
 * Joins this person to the session's presence while mounted: 10 s heartbeat, cursor positions
 * over `area` (as fractions of it) throttled to 50 ms, idle after a minute without input, away
 * while the tab is hidden, and a presence delete when the page goes away. Returns who is here.
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

  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 5000)
    return () => clearInterval(t)
  }, [])

  useEffect(() => {
    if (!connection || !actions) return
    const controller = new PresenceController((patch) => actions.updatePresence(patch))
    controllerRef.current = controller
    controller.start({ focusedPane: pane ?? null })
    const onInput = () => controller.input()
    const onMove = (e: PointerEvent) => {
      const el = area.current
      if (!el) return
      const r = el.getBoundingClientRect()
      const x = (e.clientX - r.left) / r.width
      const y = (e.clientY - r.top) / r.height
      if (x < 0 || y < 0 || x > 1 || y > 1) return
      controller.moveCursor({ x: Math.round(x * 10_000) / 10_000, y: Math.round(y * 10_000) / 10_000 })
    }
    const onVisibility = () => controller.setHidden(document.visibilityState === 'hidden')
    const onLeave = () => leaveSession({ sessionId: connection.sessionId, token: connection.token }, actions.identity.userId)
    window.addEventListener('keydown', onInput)
    window.addEventListener('pointerdown', onInput)
    window.addEventListener('wheel', onInput, { passive: true })
    window.addEventListener('pointermove', onMove, { passive: true })
    document.addEventListener('visibilitychange', onVisibility)
    window.addEventListener('pagehide', onLeave)
    return () => {
      controller.stop()
      controllerRef.current = undefined
      window.removeEventListener('keydown', onInput)
      window.removeEventListener('pointerdown', onInput)
      window.removeEventListener('wheel', onInput)
      window.removeEventListener('pointermove', onMove)
      document.removeEventListener('visibilitychange', onVisibility)
      window.removeEventListener('pagehide', onLeave)
    }
  }, [connection, actions, area, pane])

  const here = useMemo(() => deriveWhoIsHere(rows, now), [rows, now])
  return { here, controller: controllerRef.current }
}
