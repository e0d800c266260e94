import { useEffect, useRef, useState } from 'react'
import type { Terminal } from '@xterm/xterm'
import type { FitAddon } from '@xterm/addon-fit'
import type { TerminalLine } from '../../lib/sessions/channel-schemas'
import { commandText, type RowMeta } from '../../lib/sessions/client/derive'
import { ptySize, type TerminalSize } from '../../lib/sessions/client/terminal-derive'
import { useTerminalInput } from '../hooks/use-terminal-input'
import { useTerminalWindow } from '../hooks/use-terminal-window'
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
      // Right-aligned: its last cell is the row's last column (1-based), so the command has the most room.
      const column = Math.max(1, cols - label.length + 1)
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

type XtermModules = [Pick<typeof import('@xterm/xterm'), 'Terminal'>, Pick<typeof import('@xterm/addon-fit'), 'FitAddon'>]
let xtermModules: Promise<XtermModules> | undefined

/**
 * xterm's modules from a page that imports them itself (the terminal page: there the HTML
 * preloads them with the page's own scripts, instead of this pane asking once it has mounted).
 */
export function provideXterm(modules: XtermModules): void {
  xtermModules ??= Promise.resolve(modules)
}

/** xterm's modules, asked for once: the terminal page starts this as it hydrates, the pane when it mounts. */
export function preloadXterm(): Promise<XtermModules> {
  xtermModules ??= Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')])
  // A failed load is asked again by the next caller (a pane mounting later), not kept.
  xtermModules.catch(() => {
    xtermModules = undefined
  })
  return xtermModules
}

/**
 * xterm's modules, asked again with backoff (0.25 s doubling to 5 s) while the pane is mounted:
 * a load that fails (the server restarting, a network blip) must not leave the terminal undrawn
 * for good; the browser fetches a failed dynamic import again. Undefined once `gone()`.
 */
async function loadXtermRetrying(gone: () => boolean): Promise<XtermModules | undefined> {
  for (let attempt = 0; !gone(); attempt++) {
    try {
      return await preloadXterm()
    } catch {
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)))
    }
  }
  return undefined
}

/** Resolves in the browser's next idle period (at most 500 ms away). */
function browserIdle(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof requestIdleCallback === 'function') requestIdleCallback(() => resolve(), { timeout: 500 })
    else setTimeout(resolve, 0)
  })
}

/** This pane's own size: what fits its box (the pty gets it when this person types). */
function fitSize(fit: FitAddon | null): TerminalSize | null {
  const proposed = fit?.proposeDimensions()
  return proposed && proposed.cols > 0 && proposed.rows > 0 ? { cols: proposed.cols, rows: proposed.rows } : null
}

/**
 * What xterm sends on its own, not typed: replies to a program's queries (cursor position, device
 * attributes, colours, DCS) and focus reports. Only the typist's own keys go to the shell; every
 * focused viewer's xterm would answer too, and a late answer reads as typed garbage.
 */
// eslint-disable-next-line no-control-regex -- escape sequences are what this matches
const XTERM_REPLY = /^(?:\x1b\[\d+;\d+R|\x1b\[[?>]?[\d;]*c|\x1b\][\d;]+[^\x07\x1b]*(?:\x07|\x1b\\)|\x1bP[^\x1b]*\x1b\\|\x1b\[[IO])+$/

/**
 * The session's terminal channel in xterm.js, plus the shared prompt. Lines are written once
 * each, in stream order, as the stream confirms them, from the newest scroll-back window on
 * (use-terminal-window); a command still on its way shows below the terminal as pending. Keys
 * typed into the terminal itself go to the shell at once, raw (use-terminal-input), so vim, less
 * and top work. xterm shows the pty's size: the size of whoever typed last.
 */
export function TerminalPane({
  lines,
  history,
  earlier,
  actions,
  authorOf,
  disabled,
  disabledReason,
  autoFocusPrompt,
  loading,
  preview,
  deferXterm,
}: {
  lines: ReadonlyArray<TerminalLine & RowMeta>
  history: readonly string[]
  /** output before the lines held, on the server (the page opened from the view) */
  earlier?: { available: boolean; load(): Promise<void> }
  actions?: SessionActions
  authorOf: (id: string) => TerminalAuthor
  disabled?: boolean
  /** what the prompt says while disabled (read-only, ended, connecting) */
  disabledReason?: string
  autoFocusPrompt?: boolean
  /** still catching up: hold drawing until names (presence) are known */
  loading?: boolean
  /** the last screen as the server rendered it into the HTML (session-preview.ts), until xterm draws */
  preview?: string
  /**
   * Load and open xterm only once drawing may start (`loading` false) and the browser is idle:
   * the session page, where the conversation comes first. xterm's 330 KB module and first draw
   * were 100-160 ms of main thread inside a cold open (bench/scenarios/session-page.ts); the
   * preview shows the last screen meanwhile.
   */
  deferXterm?: boolean
}) {
  const hostRef = useRef<HTMLElement>(null)
  const termRef = useRef<Terminal | null>(null)
  const fitRef = useRef<FitAddon | null>(null)
  const [ready, setReady] = useState(false)
  // Latched: a later reconnect (loading again) must not take the terminal down.
  const [started, setStarted] = useState(!deferXterm)
  if (!started && !loading) setStarted(true)
  const theme = useTheme()
  const linesRef = useRef(lines)
  linesRef.current = lines

  const mySize = () => fitSize(fitRef.current)
  const view = useTerminalWindow({ termRef, ready, lines, loading, authorOf, render: renderLine, mySize, earlier })
  const input = useTerminalInput(actions, mySize, () => ptySize(linesRef.current))
  const inputRef = useRef(input)
  inputRef.current = input
  const viewRef = useRef(view)
  viewRef.current = view

  useEffect(() => {
    if (!started) return
    let disposed = false
    let cleanup = () => {}
    void (async () => {
      if (deferXterm) await browserIdle()
      const modules = await loadXtermRetrying(() => disposed)
      if (!modules) return
      const [{ Terminal }, { FitAddon }] = modules
      performance.mark('tether:xterm-loaded')
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
      // Keys typed into the terminal go to the shell as typed (see use-terminal-input).
      const onData = term.onData((data) => {
        if (!host.contains(document.activeElement) || XTERM_REPLY.test(data)) return
        inputRef.current.keys(data)
      })
      // Until someone sizes the pty, xterm fits this pane; after that it keeps the pty's size.
      const fitIfUnsized = () => {
        const size = viewRef.current.shownSize() ? null : fitSize(fit)
        if (size && (size.cols !== term.cols || size.rows !== term.rows)) term.resize(size.cols, size.rows)
      }
      fitIfUnsized()
      const observer = new ResizeObserver(fitIfUnsized)
      observer.observe(host)
      setReady(true)
      performance.mark('tether:xterm-open')
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
    }
  }, [started, deferXterm])

  // biome-ignore lint/correctness/useExhaustiveDependencies: theme and ready are triggers: a theme change, or the terminal appearing, re-reads the colours
  useEffect(() => {
    const term = termRef.current
    if (term) term.options.theme = xtermTheme()
  }, [theme, ready])

  // biome-ignore lint/correctness/useExhaustiveDependencies: ready is a trigger: the terminal appearing takes the current setting
  useEffect(() => {
    const term = termRef.current
    if (term) term.options.disableStdin = !actions
  }, [actions, ready])

  const pending = lines.filter((l) => l._seq === undefined && commandText(l) !== undefined)
  const empty = ready && !loading && lines.length === 0

  return (
    <div className="terminal-shell" data-testid="terminal">
      {view.hasEarlier ? (
        <button type="button" className="btn btn-sm terminal-earlier" data-testid="terminal-load-earlier" onClick={view.loadEarlier}>
          Load earlier output
        </button>
      ) : null}
      {/* A pty larger than this pane scrolls here instead of wrapping everyone's screen. */}
      <section
        className="terminal-host"
        ref={hostRef}
        data-testid="terminal-host"
        aria-label="Session terminal output"
        style={{ overflow: 'auto' }}
      />
      {preview && !ready ? (
        <pre className="terminal-preview" data-testid="terminal-preview">
          <span>{preview}</span>
        </pre>
      ) : null}
      {empty ? (
        <div className="terminal-empty" data-testid="terminal-empty">
          <span>No terminal activity yet.</span>
          <span>Run a command below: everyone here sees it and its output.</span>
        </div>
      ) : null}
      {pending.map((l) => (
        <div key={l.id} className="terminal-pending" data-testid="terminal-pending">
          ⧗ {commandText(l)} <span className="faint">(sending…)</span>
        </div>
      ))}
      <Prompt
        history={history}
        onRun={(c) => input.line(c)}
        onInterrupt={() => input.keys('\x03')}
        disabled={disabled || !actions}
        disabledReason={disabledReason}
        autoFocus={autoFocusPrompt}
      />
    </div>
  )
}
