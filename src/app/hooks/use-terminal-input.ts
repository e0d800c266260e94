/**
 * What this page types into the shared terminal, in order: prompt lines and keys typed into
 * xterm. Keys go out at once (not held until a control key, which broke vim): what arrives within
 * one frame (~16 ms) is one event, and while one write is on its way the next keys gather, so a
 * fast typist makes a few events a second and a paste is one. Writes are strictly one after
 * another: two POSTs in flight could land in the other order, and keys must not.
 *
 * The pty takes the size of whoever typed last: before our input, when our size differs from the
 * pty's (the last resize on the stream), the input carries a resize to ours (same write).
 */
import { useRef } from 'react'
import type { SessionActions } from '../../lib/sessions/client/actions'
import type { TerminalSize } from '../../lib/sessions/client/terminal-derive'

const FRAME_MS = 16
/** One event stays well under the channel's 256 KiB text limit (a huge paste becomes several). */
const MAX_KEYS_EVENT = 64 * 1024

type Item = { kind: 'keys'; data: string } | { kind: 'line'; data: string }

export interface TerminalInput {
  /** keys typed into xterm (or a paste), sent raw */
  keys(data: string): void
  /** a command from the prompt */
  line(command: string): void
}

export function useTerminalInput(
  actions: SessionActions | undefined,
  /** this page's own size (what its pane fits), null before it is laid out */
  mySize: () => TerminalSize | null,
  /** the pty's size as the stream tells it (optimistic resizes included), null if never sized */
  ptySize: () => TerminalSize | null,
): TerminalInput {
  const state = useRef({ queue: [] as Item[], timer: undefined as ReturnType<typeof setTimeout> | undefined, busy: false })
  const actionsRef = useRef(actions)
  actionsRef.current = actions
  const sizes = useRef({ mySize, ptySize })
  sizes.current = { mySize, ptySize }

  const api = useRef<TerminalInput | null>(null)
  if (!api.current) {
    const s = state.current
    const sizeToSend = (): TerminalSize | undefined => {
      const mine = sizes.current.mySize()
      const pty = sizes.current.ptySize()
      if (!mine || (pty && pty.cols === mine.cols && pty.rows === mine.rows)) return undefined
      return mine
    }
    const flush = () => {
      s.timer = undefined
      const actions = actionsRef.current
      const item = s.queue.shift()
      if (!item || s.busy || !actions) {
        if (item) s.queue.unshift(item)
        return
      }
      s.busy = true
      const size = sizeToSend()
      const transaction = item.kind === 'keys' ? actions.sendKeys(item.data, size) : actions.runCommand(item.data, size).transaction
      // A failed write is listed by the actions' failure store; the next input still goes.
      transaction.isPersisted.promise
        .catch(() => {})
        .finally(() => {
          s.busy = false
          if (s.queue.length) flush()
        })
    }
    const schedule = () => {
      if (!s.busy) s.timer ??= setTimeout(flush, FRAME_MS)
    }
    api.current = {
      keys(data) {
        for (let at = 0; at < data.length; at += MAX_KEYS_EVENT) {
          const part = data.slice(at, at + MAX_KEYS_EVENT)
          const last = s.queue[s.queue.length - 1]
          if (last?.kind === 'keys' && last.data.length + part.length <= MAX_KEYS_EVENT) last.data += part
          else s.queue.push({ kind: 'keys', data: part })
        }
        schedule()
      },
      line(command) {
        s.queue.push({ kind: 'line', data: command })
        // A command goes now; keys typed just before it go with the same flush, in order.
        clearTimeout(s.timer)
        s.timer = undefined
        if (!s.busy) flush()
      },
    }
  }
  return api.current
}
