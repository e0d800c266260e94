import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react'
import { searchHistory } from '../../lib/sessions/client/derive'

/**
 * The terminal's command line: Enter runs the line; ↑/↓ walk the session's shared history
 * (everyone's commands, kept in the stream, so it survives reloads); Ctrl-R searches it backwards
 * (Ctrl-R again or ↑/↓ for the next match, Enter runs, Tab or → edits, Esc cancels);
 * Ctrl-C clears the line, or interrupts the running program when the line is empty.
 */
export function Prompt({
  history,
  onRun,
  onInterrupt,
  disabled,
  disabledReason = 'You cannot type here',
  placeholder = 'Type a command…',
  autoFocus,
}: {
  history: readonly string[]
  onRun: (command: string) => void
  onInterrupt?: () => void
  disabled?: boolean
  /** the placeholder while disabled: why this person cannot type (read-only, ended …) */
  disabledReason?: string
  placeholder?: string
  autoFocus?: boolean
}) {
  const [line, setLine] = useState('')
  const [draft, setDraft] = useState('')
  /** position in history while walking it with ↑/↓ (history.length = the draft line) */
  const [index, setIndex] = useState<number | null>(null)
  const [search, setSearch] = useState<{ query: string; pick: number } | null>(null)
  const inputRef = useRef<HTMLInputElement>(null)

  const matches = useMemo(() => (search ? searchHistory(history, search.query) : []), [history, search])
  const picked = search ? matches[search.pick] : undefined

  useEffect(() => {
    if (autoFocus) inputRef.current?.focus()
  }, [autoFocus])

  const run = (command: string) => {
    if (!command.trim() || disabled) return
    onRun(command)
    setLine('')
    setDraft('')
    setIndex(null)
    setSearch(null)
  }

  const walk = (delta: number) => {
    if (history.length === 0) return
    const current = index ?? history.length
    const next = Math.max(0, Math.min(history.length, current + delta))
    if (index === null) setDraft(line)
    setIndex(next === history.length ? null : next)
    setLine(next === history.length ? (index === null ? line : draft) : history[next])
  }

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (search) {
      if (e.key === 'Escape' || (e.ctrlKey && e.key.toLowerCase() === 'g')) {
        e.preventDefault()
        setSearch(null)
      } else if ((e.ctrlKey && e.key.toLowerCase() === 'r') || e.key === 'ArrowUp') {
        e.preventDefault()
        setSearch({ ...search, pick: Math.min(search.pick + 1, Math.max(0, matches.length - 1)) })
      } else if (e.key === 'ArrowDown') {
        e.preventDefault()
        setSearch({ ...search, pick: Math.max(0, search.pick - 1) })
      } else if (e.key === 'Enter') {
        e.preventDefault()
        if (picked) run(picked)
      } else if (e.key === 'Tab' || e.key === 'ArrowRight') {
        e.preventDefault()
        setLine(picked ?? line)
        setSearch(null)
      }
      return
    }
    if (e.ctrlKey && e.key.toLowerCase() === 'r') {
      e.preventDefault()
      setSearch({ query: '', pick: 0 })
    } else if (e.ctrlKey && e.key.toLowerCase() === 'c' && !window.getSelection()?.toString()) {
      e.preventDefault()
      if (line) {
        setLine('')
        setIndex(null)
      } else onInterrupt?.()
    } else if (e.key === 'ArrowUp') {
      e.preventDefault()
      walk(-1)
    } else if (e.key === 'ArrowDown') {
      e.preventDefault()
      walk(1)
    } else if (e.key === 'Enter') {
      e.preventDefault()
      run(line)
    }
  }

  return (
    <div className="prompt" data-testid="prompt">
      {search ? (
        <div className="prompt-search" role="listbox" aria-label="History search" data-testid="history-search">
          <div className="prompt-search-head">
            reverse search: <strong>{search.query || '…'}</strong> · {matches.length} match{matches.length === 1 ? '' : 'es'} ·{' '}
            <kbd>Enter</kbd> run · <kbd>Tab</kbd> edit · <kbd>Esc</kbd> cancel
          </div>
          {matches.length ? (
            <ol>
              {matches.slice(0, 20).map((m, i) => (
                // biome-ignore lint/a11y/noNoninteractiveElementToInteractiveRole lint/a11y/useFocusableInteractive: listbox options picked from the input (focus stays there; aria-selected marks the pick)
                <li key={m} role="option" aria-selected={i === search.pick}>
                  {m}
                </li>
              ))}
            </ol>
          ) : null}
        </div>
      ) : null}
      <span className="prompt-sigil" aria-hidden="true">
        {search ? '(search)' : '❯'}
      </span>
      <label htmlFor="terminal-prompt" className="sr-only">
        {search ? 'Search command history' : 'Terminal command'}
      </label>
      <input
        id="terminal-prompt"
        ref={inputRef}
        value={search ? search.query : line}
        onChange={(e) => {
          if (search) setSearch({ query: e.target.value, pick: 0 })
          else {
            setLine(e.target.value)
            setIndex(null)
          }
        }}
        onKeyDown={onKeyDown}
        placeholder={disabled ? disabledReason : placeholder}
        disabled={disabled}
        spellCheck={false}
        autoComplete="off"
        autoCapitalize="off"
        data-testid="prompt-input"
      />
    </div>
  )
}
