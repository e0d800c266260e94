import { useLayoutEffect, useRef } from 'react'
import type { PreviewMessage } from '../session-preview'
import { clockTime } from './format'

/**
 * The newest messages as the server rendered them into the page's HTML (session-preview.ts), shown
 * until the live collections hold the view. Same markup and classes as MessageView, minus what
 * needs the live session (turn states, Fork, the typing caret), so the first paint looks like the
 * page. Its own scroller laid out bottom-up (column-reverse), so it opens at the newest message
 * without a script; the conversation's scroller around it has nothing to scroll meanwhile, so its
 * follow-to-bottom logic starts when the live list arrives, as far from the bottom as the reader
 * had scrolled this one (`onLeave`). React escapes every text.
 */
/** Scrolled up further than this from the newest message, the reader is reading, not following. */
const SCROLLED_UP_PX = 48

/** The first message whose bottom is inside the scroller's viewport. */
function topMessage(scroller: HTMLElement): string | null {
  const top = scroller.getBoundingClientRect().top
  for (const el of scroller.querySelectorAll('[data-message-id]')) {
    if (el.getBoundingClientRect().bottom > top) return el.getAttribute('data-message-id')
  }
  return null
}

export function MessagePreviewList({
  messages,
  onLeave,
}: {
  messages: readonly PreviewMessage[]
  /** when the live list replaces it: the message at the top of its viewport if the reader had scrolled it up, else null */
  onLeave?: (topMessageId: string | null) => void
}) {
  const ref = useRef<HTMLDivElement>(null)
  const leave = useRef(onLeave)
  leave.current = onLeave
  // Read as it goes (a layout cleanup runs before the node leaves the DOM), so a scroll made before
  // the page's script ran counts too. Bottom-up layout: scrollTop 0 at the newest message, negative above.
  useLayoutEffect(() => {
    const el = ref.current
    return () => {
      if (el) leave.current?.(-el.scrollTop >= SCROLLED_UP_PX ? topMessage(el) : null)
    }
  }, [])
  return (
    <div className="conversation-preview" data-testid="conversation-preview" ref={ref}>
      <div className="conversation-inner">
        {messages.map((m) => (
          <PreviewMessageView key={m.id} message={m} />
        ))}
      </div>
    </div>
  )
}

function PreviewMessageView({ message }: { message: PreviewMessage }) {
  const isUser = message.role === 'user'
  return (
    <article
      className={`msg msg-${message.role}`}
      data-testid="message"
      data-message-id={message.id}
      data-role={message.role}
      data-pending="false"
      data-done={message.done ? 'true' : 'false'}
      data-preview="true"
    >
      {isUser ? (
        <span className="avatar avatar-sm" style={{ background: message.authorColor ?? 'var(--text-faint)' }} aria-hidden="true">
          {message.authorName.slice(0, 1).toUpperCase()}
        </span>
      ) : (
        <span className="avatar avatar-sm agent-avatar" aria-hidden="true">
          ✦
        </span>
      )}
      <div className="msg-body">
        <div className="msg-meta">
          <span className="msg-author">{message.authorName}</span>
          {/* The server's clock format and zone may differ from the browser's: the text is kept as rendered. */}
          <time dateTime={new Date(message.startedAt).toISOString()} suppressHydrationWarning>
            {clockTime(message.startedAt)}
          </time>
        </div>
        {message.text ? (
          <div className="msg-text" data-testid="message-text">
            {message.text}
          </div>
        ) : null}
        {message.toolCalls.map((call) => (
          <div key={call.id} className="tool-card" data-testid="tool-call" data-status={call.status} data-name={call.name}>
            <div className="tool-card-summary">
              <span className="tool-name">{call.name}</span>
              <span className="faint" style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap', minWidth: 0 }}>
                {call.input}
              </span>
              <span className="badge">{call.status}</span>
            </div>
          </div>
        ))}
      </div>
    </article>
  )
}
