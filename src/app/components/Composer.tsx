import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react'
import { useMentionCompletion } from './MentionMenu'
import type { RosterAgent } from '../../lib/common/agent-roster'
import { FORM_FIELDS } from '../composer-form'

/** The native fallback: where the form posts before (or without) the live composer (composer-form.ts). */
export interface ComposerForm {
  action: string
  token?: string
  messageId: string
  turn: number
}

let adopted = false
/**
 * What was typed into the server-rendered box before the page's script ran: hydration keeps the
 * DOM's text (React does not overwrite a textarea's value), and the composer starts from it, so
 * the state and the box agree and nothing typed is lost or doubled. Once per document: a later
 * mount (a navigation inside the app) starts empty as before.
 */
function typedBeforeHydration(): string {
  if (adopted || typeof document === 'undefined') return ''
  adopted = true
  const box = document.getElementById('composer-input')
  return box instanceof HTMLTextAreaElement ? box.value : ''
}

/**
 * The message box. Live (`onSend` given): an optimistic send through the session's actions, no
 * reload. Before the page's script runs (the server's HTML, or JavaScript off) the same markup is a
 * real form: Send posts natively to `form.action`, which appends the message through the event
 * writer and answers 303 back to the page (composer-post.ts). Between hydration and the live send
 * a Send waits for it (`queued`).
 */
export function Composer({
  onSend,
  disabled,
  disabledReason,
  agents,
  form,
}: {
  /** the live send; absent until the page's actions exist */
  onSend?: (text: string) => void
  disabled?: boolean
  disabledReason?: string
  /** issue #15: the roster for `@` completion (MentionMenu.tsx) */
  agents?: ReadonlyArray<RosterAgent & { colour: number }>
  form?: ComposerForm
}) {
  const [text, setText] = useState(typedBeforeHydration)
  // Server HTML and hydration render Send enabled whatever the box holds (no script could enable
  // it when someone types); after mount it follows the text, as it always did.
  const [mounted, setMounted] = useState(false)
  useEffect(() => setMounted(true), [])
  const ref = useRef<HTMLTextAreaElement>(null)
  const mention = useMentionCompletion(ref, text, setText, agents)
  const live = !!onSend
  // Send pressed after hydration but before the live send exists (the connection is opening): held
  // and sent as soon as it does, without a reload; dropped if the page turns out read-only.
  const [queued, setQueued] = useState(false)
  const send = () => {
    const value = text.trim()
    if (!value || disabled) return
    if (onSend) {
      onSend(value)
      setText('')
    } else setQueued(true)
  }
  useEffect(() => {
    if (!queued || (!onSend && !disabled)) return
    setQueued(false)
    const value = text.trim()
    if (onSend && !disabled && value) {
      onSend(value)
      setText('')
    }
  }, [queued, onSend, disabled, text])
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (mention.onKeyDown(e)) return
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      send()
    }
  }
  // biome-ignore lint/correctness/useExhaustiveDependencies: text is the trigger: the box grows with what is typed
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    el.style.height = 'auto'
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`
  }, [text])
  return (
    <form
      className="composer"
      method="post"
      action={form?.action}
      data-mode={live ? 'live' : form ? 'form' : 'none'}
      data-testid="composer-form"
      onSubmit={(e) => {
        // Only a hydrated form gets here: before hydration (or without JavaScript) the browser posts it.
        e.preventDefault()
        send()
      }}
    >
      {form ? (
        <>
          {form.token ? <input type="hidden" name={FORM_FIELDS.token} value={form.token} /> : null}
          <input type="hidden" name={FORM_FIELDS.messageId} value={form.messageId} />
          <input type="hidden" name={FORM_FIELDS.turn} value={String(form.turn)} />
        </>
      ) : null}
      <div className="composer-inner">
        <label htmlFor="composer-input" className="sr-only">
          Message
        </label>
        <textarea
          id="composer-input"
          name={FORM_FIELDS.text}
          ref={ref}
          className="textarea"
          rows={1}
          placeholder={disabled ? disabledReason : 'Message the agent…'}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          disabled={disabled}
          required
          data-testid="composer"
        />
        {mention.menu}
        <button type="submit" className="btn btn-primary" disabled={disabled || queued || (mounted && !text.trim())} data-testid="send">
          Send
        </button>
      </div>
      <p className="composer-hint hide-mobile">
        <kbd>Enter</kbd> to send · <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line · <kbd>/</kbd> message · <kbd>`</kbd> terminal
      </p>
    </form>
  )
}
