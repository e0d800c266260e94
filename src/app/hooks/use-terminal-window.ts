/**
 * Writes the terminal channel into xterm: confirmed lines once each, in stream order, from the
 * start of the scroll-back window on. The pane opens with the newest window only (terminal-derive
 * TERMINAL_WINDOW) so a session with 100,000 rows of output opens fast; `loadEarlier` rewrites
 * xterm from the window before (xterm cannot prepend), as far back as the stream keeps. A page
 * opened from the server's view holds only the newest window: the one before is fetched first
 * (`earlier`), and drawn when its lines arrive.
 *
 * xterm shows the output at the pty's size: a `resize` line resizes xterm at its place in the
 * stream (after the output before it is parsed), so a full-screen program draws for everyone as
 * it does for whoever typed. Before anyone has sized the pty, xterm takes this pane's own size.
 */
import { useEffect, useRef, useState, type RefObject } from 'react'
import type { Terminal } from '@xterm/xterm'
import type { TerminalLine } from '../../lib/sessions/channel-schemas'
import type { RowMeta } from '../../lib/sessions/client/derive'
import { ptySize, windowStart, type TerminalSize } from '../../lib/sessions/client/terminal-derive'

type Line = TerminalLine & RowMeta
type Author = { name: string; color?: string }

export interface TerminalWindow {
  /** output older than what xterm shows is on the stream */
  hasEarlier: boolean
  loadEarlier(): void
  /** the size xterm shows (the pty's, or this pane's own before anyone sized the pty) */
  shownSize(): TerminalSize | null
}

/** Index of the first line not confirmed by the stream yet (optimistic rows sort last). */
function confirmedEnd(lines: readonly Line[]): number {
  let end = lines.length
  while (end > 0 && lines[end - 1]._seq === undefined) end--
  return end
}

/** Where the window before the one starting at `startSeq` starts, if this page holds output there. */
function earlierFrom(lines: readonly Line[], startSeq: number): number | undefined {
  const start = Math.max(
    0,
    lines.findIndex((l) => l._seq !== undefined && l._seq >= startSeq),
  )
  const from = windowStart(lines, start)
  for (let i = from; i < start; i++) if (lines[i].kind === 'output') return from
  return undefined
}

export function useTerminalWindow(options: {
  termRef: RefObject<Terminal | null>
  ready: boolean
  lines: readonly Line[]
  loading?: boolean
  authorOf: (id: string) => Author
  render: (line: Line, author: Author, cols: number) => string
  /** this pane's own size, for before the pty has one */
  mySize: () => TerminalSize | null
  /** output before every line held is on the server (connection.history) */
  earlier?: { available: boolean; load(): Promise<void> }
}): TerminalWindow {
  const { termRef, ready, lines, loading, authorOf, render, mySize, earlier } = options
  const state = useRef({
    drawn: false,
    /** `_seq` of the window's first line (-Infinity: the start of the stream) */
    startSeq: Number.NEGATIVE_INFINITY,
    /** `_seq` of the last line written */
    lastSeq: Number.NEGATIVE_INFINITY,
    /** set by loadEarlier: redraw from this line index */
    redrawFrom: undefined as number | undefined,
    /** authors whose name was unknown when their command was drawn */
    unnamed: new Set<string>(),
    size: null as TerminalSize | null,
    /** loadEarlier fetched the window before: redraw from it once its lines are here */
    pendingEarlier: false,
  })
  const [hasEarlier, setHasEarlier] = useState(false)
  const [generation, setGeneration] = useState(0)
  const linesRef = useRef(lines)
  linesRef.current = lines

  // biome-ignore lint/correctness/useExhaustiveDependencies: ready and generation are triggers (the terminal appeared; load earlier asked for a redraw)
  useEffect(() => {
    const term = termRef.current
    if (!term || loading) return
    const s = state.current
    if (s.pendingEarlier) {
      const from = earlierFrom(lines, s.startSeq)
      if (from !== undefined) {
        s.pendingEarlier = false
        s.redrawFrom = from
      }
    }
    const end = confirmedEnd(lines)
    // Nothing confirmed yet (caught up before the lines' store flushed, or an empty terminal):
    // the first draw waits for lines, so its window starts at a real line. Drawn from none, the
    // window's start stayed "the start of the stream" and earlier windows were never drawn.
    if (!s.drawn && end === 0) return
    const resolvedLater = [...s.unnamed].some((id) => authorOf(id).name !== id)
    let from: number
    if (!s.drawn || s.redrawFrom !== undefined || resolvedLater) {
      // The terminal-open bench's timeline (a no-op without a reader).
      performance.mark(s.drawn ? 'tether:terminal-redraw' : 'tether:terminal-draw')
      const start =
        s.redrawFrom ??
        (s.drawn ? Math.max(0, lines.findIndex((l) => l._seq !== undefined && l._seq >= s.startSeq)) : windowStart(lines, end))
      s.drawn = true
      s.redrawFrom = undefined
      s.unnamed = new Set()
      // The first line's own position even at index 0: a page opened from the view holds only the
      // newest window, and the lines fetched before it sort first; -Infinity here left the pane
      // finding no output before its window, so "Load earlier output" fetched but never drew.
      s.startSeq = lines[start]?._seq ?? Number.NEGATIVE_INFINITY
      s.lastSeq = Number.NEGATIVE_INFINITY
      term.reset()
      s.size = ptySize(lines, start)
      const size = s.size ?? mySize()
      if (size) term.resize(size.cols, size.rows)
      setHasEarlier(start > 0)
      from = start
    } else {
      from = end
      while (from > 0 && (lines[from - 1]._seq as number) > s.lastSeq) from--
    }
    let out = ''
    for (let i = from; i < end; i++) {
      const line = lines[i]
      s.lastSeq = line._seq as number
      if (line.kind === 'resize' && line.cols && line.rows) {
        const { cols, rows } = line
        s.size = { cols, rows }
        // After what came before it is parsed: xterm's writes are queued, its resize is not.
        term.write(out, () => term.resize(cols, rows))
        out = ''
        continue
      }
      const author = authorOf(line.source)
      if (line.kind === 'input' && author.name === line.source) s.unnamed.add(line.source)
      out += render(line, author, s.size?.cols ?? term.cols)
    }
    if (out) term.write(out)
  }, [lines, ready, authorOf, loading, generation])

  return {
    hasEarlier: hasEarlier || earlier?.available === true,
    loadEarlier() {
      const s = state.current
      const current = linesRef.current
      const from = earlierFrom(current, s.startSeq)
      if (from === undefined && earlier?.available) {
        s.pendingEarlier = true
        earlier.load().catch(() => {
          s.pendingEarlier = false
        })
        return
      }
      const start = Math.max(
        0,
        current.findIndex((l) => l._seq !== undefined && l._seq >= s.startSeq),
      )
      s.redrawFrom = from ?? windowStart(current, start)
      setGeneration((g) => g + 1)
    },
    shownSize() {
      return state.current.size
    },
  }
}
