import { useEffect, useRef, useState } from 'react'
import type { Terminal } from '@xterm/xterm'
import type { FitAddon } from '@xterm/addon-fit'
import type { TerminalLine } from '../../lib/sessions/channels'
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

/**
 * How one stream line looks in the terminal. A command typed at the prompt gets a header naming
 * who ran it, so each command's output sits under it; raw keys are not drawn (the shell echoes
 * what it wants shown); output is written as the shell produced it (colours, cursor movement and
 * full-screen programs work because xterm.js interprets it).
 */
export function renderLine(line: TerminalLine, author: TerminalAuthor): string {
  switch (line.kind) {
    case 'input': {
      const command = commandText(line)
      if (command === undefined) return ''
      return `\x1b[2m── \x1b[0;1;38;2;${rgb(author.color)}m${author.name}\x1b[0;2m ──\x1b[0m\r\n\x1b[1;38;2;${rgb(author.color)}m❯\x1b[0m \x1b[1m${command}\x1b[0m\r\n`
    }
    case 'output':
      return line.data ?? ''
    case 'exit':
      return line.exitCode === 0 ? `\x1b[2;32m✓ exit 0\x1b[0m\r\n` : `\x1b[31m✗ exit ${line.exitCode}\x1b[0m\r\n`
    default:
      return ''
  }
}

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
  const hostRef = useRef<HTMLDivElement>(null)
  const termRef = useRef<Terminal | null>(null)
  const fitRef = useRef<FitAddon | null>(null)
  const written = useRef(new Set<string>())
  const [ready, setReady] = useState(false)
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
      let keys = ''
      let keyTimer: ReturnType<typeof setTimeout> | undefined
      const onData = term.onData((data) => {
        // Only keys typed into this terminal go to the shell (not xterm's automatic replies).
        if (!host.contains(document.activeElement)) return
        keys += data
        keyTimer ??= setTimeout(() => {
          keyTimer = undefined
          const batch = keys
          keys = ''
          actionsRef.current?.sendKeys(batch)
        }, 25)
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
        clearTimeout(keyTimer)
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

  useEffect(() => {
    const term = termRef.current
    if (term) term.options.theme = xtermTheme()
  }, [theme, ready])

  // Write every confirmed line not written yet, in stream order.
  useEffect(() => {
    const term = termRef.current
    if (!term || loading) return
    let out = ''
    for (const line of lines) {
      if (line._seq === undefined || written.current.has(line.id)) continue
      written.current.add(line.id)
      out += renderLine(line, authorOf(line.source))
    }
    if (out) term.write(out)
  }, [lines, ready, authorOf, loading])

  const pending = lines.filter((l) => l._seq === undefined && commandText(l) !== undefined)
  const empty = ready && !loading && lines.length === 0

  return (
    <div className="terminal-shell" data-testid="terminal">
      <div className="terminal-host" ref={hostRef} data-testid="terminal-host" aria-label="Session terminal output" />
      {empty ? (
        <div className="terminal-pending" data-testid="terminal-empty">
          No terminal activity yet. Run a command below.
        </div>
      ) : null}
      {pending.map((l) => (
        <div key={l.id} className="terminal-pending" data-testid="terminal-pending">
          ⧗ {commandText(l)} <span className="faint">(sending…)</span>
        </div>
      ))}
      <Prompt history={history} onRun={(c) => actions?.runCommand(c)} onInterrupt={() => actions?.sendKeys('\x03')} disabled={disabled || !actions} autoFocus={autoFocusPrompt} />
    </div>
  )
}
