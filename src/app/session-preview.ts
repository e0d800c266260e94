/**
 * What the session page's HTML shows before any script runs (issue 10, "long sessions stay fast"):
 * the newest messages and the terminal's last screen, cut from the same view the page opens from
 * (GET /api/sessions/:id/view). Plain, small data: it is rendered by the server and sent once more
 * in the page's hydration data, so the first paint needs no JavaScript and hydration renders the
 * same thing. The page swaps it for the live collections once they hold the view.
 */
import type { ToolCall } from '../lib/sessions/channel-schemas'
import { deriveMessages, type Message } from '../lib/sessions/client/derive'

/** Messages in the HTML: more than a tall screen shows, few enough to keep the HTML small. */
export const PREVIEW_MESSAGES = 30
/** Rows of the terminal's last screen. */
export const PREVIEW_TERMINAL_ROWS = 24
/** A long text or tool output is cut here in the preview; the live message shows it whole. */
const PREVIEW_TEXT_MAX = 4_000
const PREVIEW_TOOL_MAX = 400

export interface PreviewToolCall {
  id: string
  name: string
  status: ToolCall['status']
  input: string
}

export interface PreviewMessage {
  id: string
  role: Message['role']
  author: string
  /** the author's display name (presence), else their id */
  authorName: string
  authorColor?: string
  startedAt: number
  done: boolean
  text: string
  toolCalls: PreviewToolCall[]
}

export interface SessionPreview {
  messages: PreviewMessage[]
  /** the terminal's last screen as plain text (escape sequences and control characters removed) */
  terminal: string
  /** the agents' turns so far (their `kind: 'state'` entries), which the server-rendered form stamps on a message */
  turns?: number
}

interface ViewEventLike {
  type: string
  key: string
  value?: Record<string, unknown>
  headers: Record<string, unknown>
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text)

function toolInput(input: unknown): string {
  if (typeof input === 'string') return cut(input, PREVIEW_TOOL_MAX)
  try {
    return cut(JSON.stringify(input) ?? '', PREVIEW_TOOL_MAX)
  } catch {
    return ''
  }
}

// Escape sequences (CSI, OSC, DCS/PM/APC, two-byte) and control characters: the preview is plain text.
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[@-Z\\-_])/g
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g

/** The last rows of what the terminal printed: commands typed (after a `$`) and their output. */
export function terminalScreen(lines: ReadonlyArray<Record<string, unknown>>, rows = PREVIEW_TERMINAL_ROWS): string {
  let text = ''
  for (const line of lines) {
    const data = typeof line.data === 'string' ? line.data : ''
    if (line.kind === 'output') text += data
    else if (line.kind === 'input' && line.raw !== true && data) text += `${text && !text.endsWith('\n') ? '\n' : ''}$ ${data}\n`
    // Keep the tail only: a long session printed megabytes.
    if (text.length > 64 * 1024) text = text.slice(-32 * 1024)
  }
  const clean = text.replace(/\r\n/g, '\n').replace(ANSI, '').replace(/\r/g, '\n').replace(CONTROL, '')
  return clean.replace(/\n+$/, '').split('\n').slice(-rows).join('\n')
}

/** The preview from a view answer's events (the rows a reader of them holds: last write per key). */
export function previewOf(events: readonly ViewEventLike[], count = PREVIEW_MESSAGES): SessionPreview {
  const tables = new Map<string, Map<string, Record<string, unknown>>>()
  let seq = 0
  for (const e of events) {
    let table = tables.get(e.type)
    if (!table) tables.set(e.type, (table = new Map()))
    table.delete(e.key)
    if (e.headers.operation !== 'delete') table.set(e.key, { ...e.value, id: e.key, _seq: seq })
    seq++
  }
  const rows = <T>(type: string) => [...(tables.get(type)?.values() ?? [])] as unknown as T[]
  const messages = deriveMessages(rows('chunk'), rows('tool-call')).slice(-count)
  const names = new Map<string, { name: string; color?: string }>()
  for (const p of rows<{ userId?: unknown; displayName?: unknown; color?: unknown }>('presence')) {
    if (typeof p.userId === 'string' && typeof p.displayName === 'string')
      names.set(p.userId, { name: p.displayName, color: typeof p.color === 'string' ? p.color : undefined })
  }
  return {
    messages: messages.map((m) => ({
      id: m.id,
      role: m.role,
      author: m.author,
      authorName: names.get(m.author)?.name ?? m.author,
      ...(names.get(m.author)?.color ? { authorColor: names.get(m.author)?.color } : {}),
      startedAt: m.startedAt,
      done: m.done,
      text: cut(m.text, PREVIEW_TEXT_MAX),
      toolCalls: m.toolCalls.map((c) => ({ id: c.id, name: c.name, status: c.status, input: toolInput(c.input) })),
    })),
    terminal: terminalScreen(rows('terminal')),
    turns: rows<{ kind?: unknown; turns?: unknown }>('agent-state').reduce(
      (n, s) => n + (s.kind === 'state' && typeof s.turns === 'number' ? s.turns : 0),
      0,
    ),
  }
}
