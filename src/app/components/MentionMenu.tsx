/**
 * `@` completion in the message box (issue #15): typing `@` lists the roster's agents (filtered
 * by what follows it); ↑/↓ pick, Enter or Tab inserts `@<id> `, Escape closes. The hook watches
 * the textarea's caret itself, so the box only wires its keydown through and renders the menu.
 */
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode, type RefObject } from 'react'
import type { RosterAgent } from '../../lib/common/agent-roster'
import { insertMention, mentionAt, mentionCandidates } from '../../lib/sessions/client/agents'
import { AgentDot } from './AgentName'

export interface MentionCompletion {
  /** true when the key was the menu's (the box must not act on it) */
  onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>): boolean
  menu: ReactNode
}

export function useMentionCompletion(
  ref: RefObject<HTMLTextAreaElement | null>,
  text: string,
  setText: (text: string) => void,
  agents: readonly (RosterAgent & { colour: number })[] | undefined,
): MentionCompletion {
  const [caret, setCaret] = useState(0)
  const placeCaret = useRef<number | null>(null)
  const [pick, setPick] = useState(0)
  /** the `@` position the reader closed the menu at (Escape), so it stays closed there */
  const [dismissed, setDismissed] = useState<number | null>(null)

  // The caret after each change of the text…
  // biome-ignore lint/correctness/useExhaustiveDependencies: text is the trigger: the caret moved with what was typed
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    // After an inserted mention, the caret goes after it in the same commit (not a frame later,
    // when keys typed meanwhile would already have landed after the old caret).
    if (placeCaret.current !== null) {
      el.setSelectionRange(placeCaret.current, placeCaret.current)
      placeCaret.current = null
    }
    setCaret(el.selectionStart ?? el.value.length)
  }, [text])
  // …and when it moves without one. Not on 'input': a render between the native listener and
  // React's onChange would put the controlled textarea back to the old text and drop the key.
  useEffect(() => {
    const el = ref.current
    if (!el) return
    const update = () => setCaret(el.selectionStart ?? el.value.length)
    const events = ['keyup', 'click', 'focus'] as const
    for (const e of events) el.addEventListener(e, update)
    return () => {
      for (const e of events) el.removeEventListener(e, update)
    }
  }, [ref])

  const at = agents && agents.length > 0 ? mentionAt(text, Math.min(caret, text.length)) : null
  const options = at && agents ? mentionCandidates({ agents }, at.query) : []
  const open = at !== null && options.length > 0 && dismissed !== at.start
  const chosen = Math.min(pick, Math.max(0, options.length - 1))

  // Leaving the mention forgets the dismissal (a state update during render, the documented way).
  if (!at && dismissed !== null) setDismissed(null)

  // Screen readers: the box controls the list and names the picked option (the box is the
  // message composer's own textarea, so these are set on it here rather than in its JSX).
  const activeId = open ? `mention-option-${options[chosen]?.id ?? ''}` : ''
  const enabled = !!agents && agents.length > 0
  useEffect(() => {
    const el = ref.current
    if (!el || !enabled) return
    el.setAttribute('aria-autocomplete', 'list')
    el.setAttribute('aria-expanded', activeId ? 'true' : 'false')
    if (activeId) {
      el.setAttribute('aria-controls', 'mention-menu')
      el.setAttribute('aria-activedescendant', activeId)
    } else {
      el.removeAttribute('aria-controls')
      el.removeAttribute('aria-activedescendant')
    }
  }, [ref, activeId, enabled])

  const choose = (agentId: string) => {
    if (!at) return
    const next = insertMention(text, at.start, Math.min(caret, text.length), agentId)
    placeCaret.current = next.caret
    setText(next.text)
    setPick(0)
    setCaret(next.caret)
    ref.current?.focus()
  }

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): boolean => {
    if (!open || e.nativeEvent.isComposing) return false
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault()
      const n = options.length
      setPick((chosen + (e.key === 'ArrowDown' ? 1 : n - 1)) % n)
      return true
    }
    if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault()
      choose(options[chosen]!.id)
      return true
    }
    if (e.key === 'Escape') {
      e.preventDefault()
      // Only the menu closes: the key must not reach a dialog or the page.
      e.stopPropagation()
      if (at) setDismissed(at.start)
      return true
    }
    return false
  }

  const menu = open ? (
    <div className="mention-menu" id="mention-menu" role="listbox" aria-label="Agents" data-testid="mention-menu">
      {options.map((a, i) => (
        <div
          key={a.id}
          id={`mention-option-${a.id}`}
          role="option"
          tabIndex={-1}
          aria-selected={i === chosen}
          className={i === chosen ? 'active' : undefined}
          data-agent-id={a.id}
          // mousedown, not click: the textarea keeps its focus and caret.
          onMouseDown={(e) => {
            e.preventDefault()
            choose(a.id)
          }}
        >
          <AgentDot colour={a.colour} />
          <span className="mention-name">{a.name}</span>
          <code className="faint">@{a.id}</code>
        </div>
      ))}
    </div>
  ) : null

  return { onKeyDown, menu }
}
