/**
 * Scrolling up past the first message the page holds loads the page before it from the server's
 * view (connection.history), and keeps what the reader looks at in place: the list grows above
 * the viewport, so the distance from the bottom is what is kept across the prepend.
 */
import { useEffect, useLayoutEffect, useRef, type RefObject } from 'react'

export interface OlderMessages {
  /** more messages before the first one shown are on the server */
  available: boolean
  loading: boolean
  load(): void
}

/** How close to the top (px) a scroll has to come to ask for the page before. */
const NEAR_TOP_PX = 600

export function useLoadOlderAtTop(ref: RefObject<HTMLDivElement | null>, older: OlderMessages | undefined, firstId: string | undefined): void {
  /** the scroll height minus scroll top when a load began (null: none pending) */
  const anchor = useRef<number | null>(null)
  const olderRef = useRef(older)
  olderRef.current = older

  useEffect(() => {
    const el = ref.current
    if (!el) return
    // Only the reader's scrolling asks (not a first render, which sits at the top for a moment).
    const onScroll = () => {
      const o = olderRef.current
      if (!o?.available || o.loading || anchor.current !== null || el.scrollTop > NEAR_TOP_PX) return
      anchor.current = el.scrollHeight - el.scrollTop
      o.load()
    }
    el.addEventListener('scroll', onScroll, { passive: true })
    return () => el.removeEventListener('scroll', onScroll)
  }, [ref])

  // biome-ignore lint/correctness/useExhaustiveDependencies: firstId is the trigger: older messages were prepended
  useLayoutEffect(() => {
    const el = ref.current
    if (!el || anchor.current === null) return
    el.scrollTop = el.scrollHeight - anchor.current
    anchor.current = null
  }, [firstId])

  // A load that brought nothing new (failed, or only messages already shown) must not block the next.
  const loading = older?.loading === true
  useEffect(() => {
    if (loading || anchor.current === null) return
    const timer = setTimeout(() => {
      anchor.current = null
    }, 250)
    return () => clearTimeout(timer)
  }, [loading])
}
