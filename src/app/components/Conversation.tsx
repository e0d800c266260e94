import { memo, useEffect, useLayoutEffect, useRef, type RefObject } from 'react'
import { clockTime } from './format'
import { useVirtualizer } from '@tanstack/react-virtual'
import type { Message } from '../../lib/sessions/client/derive'
import type { ToolCall } from '../../lib/sessions/channel-schemas'
import { EmptyState, Skeleton } from './states'
import { TurnStatus } from './TurnStatus'
import { ForkAction } from './ForkAction'
import { useLoadOlderAtTop, type OlderMessages } from '../hooks/use-session-older'
import { AgentName, useAgentColourClass } from './AgentName'
import type { PreviewMessage } from '../session-preview'
import { MessagePreviewList } from './MessagePreview'

const TOOL_BADGE: Record<ToolCall['status'], string> = {
  pending: 'badge',
  running: 'badge badge-info',
  succeeded: 'badge badge-ok',
  failed: 'badge badge-danger',
  cancelled: 'badge badge-warn',
}

/**
 * Tool inputs and outputs for reading: strings as they are, flat objects as `key: value` lines
 * with multi-line strings (command output) shown as text rather than escaped JSON.
 */
export function formatValue(value: unknown): string {
  if (value === undefined) return ''
  if (typeof value === 'string') return value
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>)
    if (entries.every(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) {
      return entries
        .map(([k, v]) => (typeof v === 'string' && v.includes('\n') ? `${k}:\n${v.replace(/\n$/, '')}` : `${k}: ${String(v)}`))
        .join('\n')
    }
  }
  try {
    return JSON.stringify(value, null, 2)
  } catch {
    return String(value)
  }
}

function inputPreview(input: unknown): string {
  if (input && typeof input === 'object') {
    const first = Object.values(input as Record<string, unknown>)[0]
    if (typeof first === 'string') return first.length > 60 ? `${first.slice(0, 60)}…` : first
  }
  const text = formatValue(input)
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

export function ToolCallCard({ call }: { call: ToolCall }) {
  const duration = call.startedAt && call.endedAt ? `${((call.endedAt - call.startedAt) / 1000).toFixed(1)}s` : undefined
  return (
    <details className="tool-card" data-testid="tool-call" data-status={call.status} data-name={call.name}>
      <summary>
        <span className="tool-name">{call.name}</span>
        <span className="faint" style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap', minWidth: 0 }}>
          {inputPreview(call.input)}
        </span>
        <span className="tool-duration">{duration}</span>
        <span className={TOOL_BADGE[call.status]}>
          {call.status === 'running' ? <span className="dot dot-pulse" /> : null}
          {call.status}
        </span>
      </summary>
      <div className="tool-io">
        <div>
          <h4>Input</h4>
          <pre>{formatValue(call.input)}</pre>
        </div>
        {call.output !== undefined ? (
          <div>
            <h4>Output</h4>
            <pre data-testid="tool-output">{formatValue(call.output)}</pre>
          </div>
        ) : null}
        {call.error ? (
          <div>
            <h4>Error</h4>
            <pre style={{ color: 'var(--danger)' }}>{call.error}</pre>
          </div>
        ) : null}
      </div>
    </details>
  )
}

/**
 * One message. Memoised: the incremental store (use-session-messages.ts) hands the same object
 * for a message no change touched, so a streamed token re-renders only the message it extends.
 * Per-message insertions (TurnStatus, ForkAction) belong in here.
 */
const MessageView = memo(function MessageView({
  message,
  authorName,
  authorColor,
  isSelf,
  agentBusy,
}: {
  message: Message
  authorName: string
  authorColor?: string
  isSelf: boolean
  agentBusy: boolean
}) {
  const isUser = message.role === 'user'
  // A caret while the agent is still writing; an answer cut short by a stop just ends.
  const streaming = agentBusy && !isUser && !message.done && message.text.length > 0
  // issue #15: an agent's message in its own colour (AgentName.tsx; none in a single-agent session)
  const agentColour = useAgentColourClass(message.author)
  return (
    <article
      className={`msg msg-${message.role}${message.pending ? ' pending' : ''}`}
      data-testid="message"
      data-message-id={message.id}
      data-role={message.role}
      data-pending={message.pending ? 'true' : 'false'}
      data-done={message.done ? 'true' : 'false'}
    >
      {isUser ? (
        <span className="avatar avatar-sm" style={{ background: authorColor ?? 'var(--text-faint)' }} aria-hidden="true">
          {authorName.slice(0, 1).toUpperCase()}
        </span>
      ) : (
        <span className={`avatar avatar-sm agent-avatar ${agentColour}`} aria-hidden="true">
          ✦
        </span>
      )}
      <div className="msg-body">
        <div className="msg-meta">
          {isUser ? (
            <span className="msg-author">{isSelf ? 'You' : authorName}</span>
          ) : (
            <AgentName agentId={message.author} fallback={authorName} />
          )}
          <time dateTime={new Date(message.startedAt).toISOString()}>
            {clockTime(message.startedAt)}
          </time>
          {message.pending ? <span className="badge">sending…</span> : null}
          {/* issue #10: the turns this message asked for (TurnStatus.tsx; an agent's reply can hand off: #15) */}
          <TurnStatus messageId={message.id} />
          {/* issue #10: fork a new session from the end of this message's turn (ForkAction.tsx) */}
          {isUser ? <ForkAction messageId={message.id} /> : null}
        </div>
        {message.text ? (
          <div className="msg-text" data-testid="message-text">
            {message.text}
            {streaming ? <span className="typing-caret" aria-hidden="true" /> : null}
          </div>
        ) : null}
        {message.toolCalls.map((call) => (
          <ToolCallCard key={call.id} call={call} />
        ))}
      </div>
    </article>
  )
})

/** A reader this close to the bottom follows new text. */
const PINNED_WITHIN_PX = 48

export interface AuthorInfo {
  name: string
  color?: string
}

/**
 * Keeps the view pinned to the bottom while new text streams in, unless the reader scrolled up.
 * It follows size changes (a ResizeObserver on the content and on the scroller), not renders:
 * reading the scroll position after every render forced a layout per streamed token, a third of
 * the main thread at 100 tokens/s (session-page bench profile). The windowed list's content height
 * is the virtualizer's total size, so a new message, a token that grows one and a row measured
 * taller all change it; the observer runs after layout, so reading the position there is free.
 */
function useStickToBottom(ref: RefObject<HTMLDivElement | null>, storageKey: string, fromPreview: () => boolean) {
  const pinned = useRef(true)
  const restored = useRef(false)
  useEffect(() => {
    const el = ref.current
    if (!el) return
    // Only the reader moving up unpins: a scroll event of our own move to the bottom can land after
    // the list grew (rows measured taller than estimated), far from the new bottom.
    let lastTop = el.scrollTop
    const onScroll = () => {
      const near = el.scrollHeight - el.scrollTop - el.clientHeight < PINNED_WITHIN_PX
      if (near) pinned.current = true
      else if (el.scrollTop < lastTop) pinned.current = false
      lastTop = el.scrollTop
      try {
        sessionStorage.setItem(storageKey, JSON.stringify({ top: el.scrollTop, pinned: pinned.current }))
      } catch {
        // no session storage
      }
    }
    el.addEventListener('scroll', onScroll, { passive: true })
    // A wheel turn or key up is the reader leaving the bottom before any scroll event says so:
    // the browser animates those scrolls, and pinning back to the bottom on a resize meanwhile
    // (a row measured, a token) cancelled the animation, so the turn moved nothing.
    const leave = () => {
      pinned.current = false
    }
    const onWheel = (e: WheelEvent) => e.deltaY < 0 && leave()
    const onKey = (e: KeyboardEvent) => (e.key === 'PageUp' || e.key === 'ArrowUp' || e.key === 'Home') && leave()
    el.addEventListener('wheel', onWheel, { passive: true })
    el.addEventListener('keydown', onKey)
    const follow = () => {
      if (pinned.current && el.scrollHeight - el.scrollTop - el.clientHeight > 1) el.scrollTop = el.scrollHeight
    }
    const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(follow)
    observer?.observe(el)
    if (el.firstElementChild) observer?.observe(el.firstElementChild)
    return () => {
      observer?.disconnect()
      el.removeEventListener('scroll', onScroll)
      el.removeEventListener('wheel', onWheel)
      el.removeEventListener('keydown', onKey)
    }
  }, [ref, storageKey])
  // Once, when there is first something to scroll: back to where the reader was before a reload,
  // else to where they had scrolled the server-rendered preview (`fromPreview`: they may have
  // scrolled it before the page's script ran), else to the bottom. Until then this reads the
  // layout per render (a short conversation only).
  useLayoutEffect(() => {
    const el = ref.current
    if (!el || restored.current || el.scrollHeight <= el.clientHeight) return
    restored.current = true
    try {
      const saved = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null') as { top: number; pinned: boolean } | null
      if (saved && !saved.pinned) {
        pinned.current = false
        el.scrollTop = saved.top
        return
      }
    } catch {
      // nothing saved
    }
    if (fromPreview()) {
      pinned.current = false
      return
    }
    el.scrollTop = el.scrollHeight
  })
}

/**
 * Up to this many messages every one is in the DOM (find-in-page sees them all); above it only
 * the visible ones and a few either side are (windowing: a 10,000-message session opens at once).
 */
const WINDOW_ABOVE = 150

export function MessageList({
  messages,
  loading,
  authors,
  selfId,
  scrollKey,
  agentBusy = false,
  readOnly = false,
  older,
  preview,
}: {
  messages: Message[]
  loading: boolean
  authors: (id: string) => AuthorInfo
  selfId: string
  scrollKey: string
  agentBusy?: boolean
  /** this page cannot send (viewer, ended): the empty state must not ask it to */
  readOnly?: boolean
  /** messages before the first one here, on the server (loaded when scrolling to the top) */
  older?: OlderMessages
  /** the newest messages as the server rendered them (session-preview.ts), shown while loading */
  preview?: readonly PreviewMessage[]
}) {
  const ref = useRef<HTMLDivElement>(null)
  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => ref.current,
    estimateSize: () => 90,
    overscan: messages.length <= WINDOW_ABOVE ? WINDOW_ABOVE : 6,
    getItemKey: (i) => messages[i].id,
    useFlushSync: false,
  })
  // The message at the top of the preview's viewport when the live list replaced it, if the
  // reader had scrolled the preview up: the live list opens with it at the top.
  const previewTop = useRef<string | null>(null)
  useStickToBottom(ref, `tether.scroll.${scrollKey}`, () => {
    const index = previewTop.current === null ? -1 : messages.findIndex((m) => m.id === previewTop.current)
    if (index < 0) return false
    virtualizer.scrollToIndex(index, { align: 'start' })
    return true
  })
  useLoadOlderAtTop(ref, older, messages[0]?.id)
  return (
    <div className="conversation" ref={ref} data-testid="conversation" aria-live="polite">
      <div className="conversation-inner">
        {loading && messages.length === 0 && preview?.length ? (
          <MessagePreviewList
            messages={preview}
            onLeave={(topMessageId) => {
              previewTop.current = topMessageId
            }}
          />
        ) : loading && messages.length === 0 ? (
          <>
            <Skeleton width="55%" />
            <Skeleton width="80%" />
            <Skeleton width="40%" />
          </>
        ) : messages.length === 0 ? (
          <EmptyState
            icon="💬"
            title="No messages yet"
            detail={
              readOnly
                ? 'The conversation shows here as it streams.'
                : 'Say what you want the agent to do. Everyone in the session sees the conversation as it streams.'
            }
          />
        ) : (
          <>
            {older?.available ? (
              <button
                type="button"
                className="btn btn-sm btn-ghost conversation-older"
                onClick={older.load}
                disabled={older.loading}
                data-testid="load-older"
              >
                {older.loading ? 'Loading earlier messages…' : 'Load earlier messages'}
              </button>
            ) : null}
            <div className="conversation-window" style={{ height: virtualizer.getTotalSize() }}>
              {virtualizer.getVirtualItems().map((item) => {
                const m = messages[item.index]
                const author = authors(m.author)
                return (
                  <div
                    key={item.key}
                    data-index={item.index}
                    ref={virtualizer.measureElement}
                    className="conversation-row"
                    style={{ transform: `translateY(${item.start}px)` }}
                  >
                    <MessageView
                      message={m}
                      authorName={author.name}
                      authorColor={author.color}
                      isSelf={m.author === selfId}
                      agentBusy={agentBusy}
                    />
                  </div>
                )
              })}
            </div>
          </>
        )}
      </div>
    </div>
  )
}
