import { useEffect, useRef, useState } from 'react'
import type { Terminal } from '@xterm/xterm'
import type { FitAddon } from '@xterm/addon-fit'
import type { TerminalLine } from '../../lib/sessions/channel-schemas'
import { commandText, type RowMeta } from '../../lib/sessions/client/derive'
import type { SessionActions } from '../../lib/sessions/client/actions'
import { Prompt } from './Prompt'
import { useTheme } from './theme'

export interface TerminalAuthor {
  name: string
  color?: string
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim()
}

function xtermTheme() {
  const dark = document.documentElement.dataset.theme === 'dark'
  return {
    background: cssVar('--term-bg') || (dark ? '#0b0c0f' : '#fbfbfc'),
    foreground: cssVar('--term-fg') || (dark ? '#e6e6ea' : '#1f2328'),
    cursor: cssVar('--accent'),
    selectionBackground: dark ? '#3a3f5c' : '#c7d2fe',
    ...(dark
      ? {}
      : {
          // xterm's default palette is tuned for dark backgrounds; these stay readable on light.
          black: '#1f2328',
          red: '#cf222e',
          green: '#116329',
          yellow: '#8a5a00',
          blue: '#0550ae',
          magenta: '#8250df',
          cyan: '#1b7c83',
          white: '#6e7781',
          brightBlack: '#57606a',
          brightRed: '#a40e26',
          brightGreen: '#1a7f37',
          brightYellow: '#633c01',
          brightBlue: '#218bff',
          brightMagenta: '#a475f9',
          brightCyan: '#3192aa',
          brightWhite: '#8c959f',
        }),
  }
}

function rgb(hex: string | undefined): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex ?? '')
  return m ? `${parseInt(m[1], 16)};${parseInt(m[2], 16)};${parseInt(m[3], 16)}` : '99;102;241'
}

// eslint-disable-next-line no-control-regex -- C0, DEL and C1: what xterm would act on
const CONTROL_ANY = /[\u0000-\u001f\u007f-\u009f]/g

/**
 * Another person's text made inert for xterm: a display name is theirs to choose, and an ESC /
 * OSC / CSI sequence in it would run in everyone's terminal (retitle it, move the cursor, forge
 * output). The server refuses such names; this holds for names already on a stream.
 */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL_ANY, '\uFFFD')
}

/**
 * How one stream line looks in the terminal. Output is written as the shell produced it (colours,
 * cursor movement and full-screen programs work because xterm.js interprets it); the shell also
 * echoes each command after its prompt, so a command is not drawn again: it only gets its
 * author's name, right-aligned on the prompt line (cursor saved, label drawn, cursor restored, so
 * the echo lands where the shell expects). Raw keys draw nothing; the shell shows their effect.
 * The author's name is another person's text: written only through terminalSafe.
 */
export function renderLine(line: TerminalLine, author: TerminalAuthor, cols: number): string {
  switch (line.kind) {
    case 'input': {
      if (commandText(line) === undefined) return ''
      const label = `${terminalSafe(author.name)} ◂`
      const column = Math.max(1, cols - label.length)
      return `\x1b7\x1b[${column}G\x1b[2;38;2;${rgb(author.color)}m${label}\x1b[0m\x1b8`
    }
    case 'output':
      return line.data ?? ''
    case 'exit':
      return `\r\n\x1b[2m[shell exited with code ${line.exitCode}; the next command starts a new shell]\x1b[0m\r\n`
    default:
      return ''
  }
}

// eslint-disable-next-line no-control-regex -- control characters mark keys the shell must get now
const CONTROL = /[\u0000-\u001f\u007f]/

/**
 * The session's terminal channel in xterm.js with full scroll-back, plus the shared prompt.
 * Lines are written once each, in stream order, as they are confirmed by the stream; a command
 * still on its way shows below the terminal as pending. Typing inside the terminal itself sends
 * raw keys to the shell, for interactive programs.
 */
export function TerminalPane({
  lines,
  history,
  actions,
  authorOf,
  disabled,
  autoFocusPrompt,
  loading,
}: {
  lines: ReadonlyArray<TerminalLine & RowMeta>
  history: readonly string[]
  actions?: SessionActions
  authorOf: (id: string) => TerminalAuthor
  disabled?: boolean
  autoFocusPrompt?: boolean
  /** still catching up: hold drawing until names (presence) are known */
  loading?: boolean
}) {
  const hostRef = useRef<HTMLElement>(null)
  const termRef = useRef<Terminal | null>(null)
  const fitRef = useRef<FitAddon | null>(null)
  const written = useRef(new Set<string>())
  const [ready, setReady] = useState(false)
  const [typed, setTyped] = useState('')
  const theme = useTheme()
  const actionsRef = useRef(actions)
  actionsRef.current = actions

  useEffect(() => {
    let disposed = false
    let cleanup = () => {}
    void (async () => {
      const [{ Terminal }, { FitAddon }] = await Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')])
      const host = hostRef.current
      if (disposed || !host) return
      const term = new Terminal({
        convertEol: true,
        scrollback: 100_000,
        fontFamily: cssVar('--font-mono') || 'monospace',
        fontSize: 13,
        lineHeight: 1.2,
        cursorBlink: false,
        cursorStyle: 'bar',
        allowProposedApi: false,
        theme: xtermTheme(),
      })
      const fit = new FitAddon()
      term.loadAddon(fit)
      term.open(host)
      // Exposed for tests and debugging: the full buffer, scroll-back included.
      ;(host as HTMLDivElement & { xterm?: Terminal }).xterm = term
      termRef.current = term
      fitRef.current = fit
      try {
        fit.fit()
      } catch {
        // not laid out yet; the resize observer fits it later
      }
      // Keys typed into the terminal itself go to the shell. Printable keys wait for the next
      // control key (Enter, Esc, arrows, Backspace, Ctrl-…): the worker treats input without
      // control characters as a whole line and presses Enter for it.
      let keys = ''
      const onData = term.onData((data) => {
        // Only keys typed into this terminal (not xterm's automatic replies to queries).
        if (!host.contains(document.activeElement)) return
        keys += data
        if (CONTROL.test(data)) {
          const batch = keys
          keys = ''
          syncSizeRef.current()
          actionsRef.current?.sendKeys(batch)
        }
        setTyped(keys)
      })
      const observer = new ResizeObserver(() => {
        try {
          fit.fit()
        } catch {
          // hidden pane
        }
      })
      observer.observe(host)
      setReady(true)
      cleanup = () => {
        observer.disconnect()
        onData.dispose()
        term.dispose()
      }
    })()
    return () => {
      disposed = true
      cleanup()
      termRef.current = null
      written.current = new Set()
    }
  }, [])

  // biome-ignore lint/correctness/useExhaustiveDependencies: theme and ready are triggers: a theme change, or the terminal appearing, re-reads the colours
  useEffect(() => {
    const term = termRef.current
    if (term) term.options.theme = xtermTheme()
  }, [theme, ready])

  // Write every confirmed line not written yet, in stream order. A command header drawn before
  // its author's name was known (presence arrives later in the stream) triggers one redraw.
  const unnamed = useRef(new Set<string>())
  // biome-ignore lint/correctness/useExhaustiveDependencies: ready is a trigger: lines that arrived before the terminal did are written when it appears
  useEffect(() => {
    const term = termRef.current
    if (!term || loading) return
    const resolvedLater = [...unnamed.current].some((id) => authorOf(id).name !== id)
    if (resolvedLater) {
      term.reset()
      written.current = new Set()
      unnamed.current = new Set()
    }
    let out = ''
    for (const line of lines) {
      if (line._seq === undefined || written.current.has(line.id)) continue
      written.current.add(line.id)
      const author = authorOf(line.source)
      if (line.kind === 'input' && author.name === line.source) unnamed.current.add(line.source)
      out += renderLine(line, author, term.cols)
    }
    if (out) term.write(out)
  }, [lines, ready, authorOf, loading])

  // The shell takes the size of whoever types: tell it ours before our input, when it changed.
  const sentSize = useRef('')
  const syncSize = () => {
    const term = termRef.current
    if (!term || !actionsRef.current) return
    const size = `${term.cols}x${term.rows}`
    if (size === sentSize.current) return
    sentSize.current = size
    actionsRef.current.resizeTerminal(term.cols, term.rows)
  }
  const syncSizeRef = useRef(syncSize)
  syncSizeRef.current = syncSize

  const pending = lines.filter((l) => l._seq === undefined && commandText(l) !== undefined)
  const empty = ready && !loading && lines.length === 0

  return (
    <div className="terminal-shell" data-testid="terminal">
      <section className="terminal-host" ref={hostRef} data-testid="terminal-host" aria-label="Session terminal output" />
      {empty ? (
        <div className="terminal-empty" data-testid="terminal-empty">
          <span>No terminal activity yet.</span>
          <span>Run a command below: everyone here sees it and its output.</span>
        </div>
      ) : null}
      {typed ? (
        <div className="terminal-pending" data-testid="terminal-typed">
          keys: {typed}▏ <span className="faint">(sent with Enter or any control key)</span>
        </div>
      ) : null}
      {pending.map((l) => (
        <div key={l.id} className="terminal-pending" data-testid="terminal-pending">
          ⧗ {commandText(l)} <span className="faint">(sending…)</span>
        </div>
      ))}
      <Prompt
        history={history}
        onRun={(c) => {
          syncSize()
          actions?.runCommand(c)
        }}
        onInterrupt={() => {
          syncSize()
          actions?.sendKeys('\x03')
        }}
        disabled={disabled || !actions}
        autoFocus={autoFocusPrompt}
      />
    </div>
  )
}
