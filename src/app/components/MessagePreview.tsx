import type { PreviewMessage } from '../session-preview'
import { clockTime } from './format'

/**
 * The newest messages as the server rendered them into the page's HTML (session-preview.ts), shown
 * until the live collections hold the view. Same markup and classes as MessageView, minus what
 * needs the live session (turn states, Fork, the typing caret), so the first paint looks like the
 * page. Its own scroller laid out bottom-up (column-reverse), so it opens at the newest message
 * without a script; the conversation's scroller around it has nothing to scroll meanwhile, so its
 * follow-to-bottom logic starts fresh when the live list arrives. React escapes every text.
 */
export function MessagePreviewList({ messages }: { messages: readonly PreviewMessage[] }) {
  return (
    <div className="conversation-preview" data-testid="conversation-preview">
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
