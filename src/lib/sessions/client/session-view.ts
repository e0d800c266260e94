/**
 * The page's side of GET /api/sessions/:id/view (server: session-view-api.ts). The page opens
 * from the view's head (its events become the StreamDB's first batch, as a cached snapshot does,
 * and the live read starts at the view's offset), so TanStack DB holds only the newest part of a
 * long session plus what arrives. What is older is fetched on request into a `ViewHistory`:
 * finished messages (scrolling up) with their turn records, and earlier terminal windows. Those
 * never change any more (every unfinished message is in the head), so they stay plain data
 * beside the collections and are prepended to what the collections derive.
 */
import type { AgentStateEntry, Chunk, TerminalLine, ToolCall } from '../channel-schemas'
import { SESSIONS_MOUNT } from '../../common/session-contract'
import { authHeaders, TOKEN_STORAGE_KEYS } from './auth'
import { deriveMessages, type Message, type RowMeta } from './derive'

export interface ViewEvent {
  type: string
  key: string
  value?: Record<string, unknown>
  headers: Record<string, unknown>
}

export interface ViewAnswer {
  offset: string
  events: ViewEvent[]
  olderBefore: string | null
  terminalBefore: string | null
}

/** The newest messages the page opens with (the server's default). */
export const HEAD_MESSAGES = 200
/** Older messages fetched per scroll to the top: large pages, few requests. */
export const OLDER_PAGE = 500

function viewUrl(sessionId: string, origin: string, query: Record<string, string>): string {
  const url = new URL(`${SESSIONS_MOUNT}/${encodeURIComponent(sessionId)}/view`, origin)
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
  return url.toString()
}

function isViewAnswer(body: unknown): body is ViewAnswer {
  if (typeof body !== 'object' || body === null) return false
  const b = body as Record<string, unknown>
  return typeof b.offset === 'string' && Array.isArray(b.events)
}

export async function fetchSessionView(
  sessionId: string,
  token: string | undefined,
  origin: string,
  query: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<ViewAnswer> {
  const response = await fetch(viewUrl(sessionId, origin, query), { headers: authHeaders(token), signal })
  if (!response.ok) throw new Error(`view answered ${response.status}: ${(await response.text()).slice(0, 200)}`)
  const body: unknown = await response.json()
  if (!isViewAnswer(body)) throw new Error('view answer is malformed')
  return body
}

/**
 * The view asked for as soon as the page renders (useSessionPage), before hydration's effects open
 * the connection: on a busy machine that is seconds earlier. Any token of the session reads the
 * same view, so the link's or the remembered one will do; a refused prefetch is simply not used.
 * A view is a consistent state at its offset however old, so using it is always correct; past a
 * few seconds the catch-up from its offset grows, so an old one is asked again.
 */
const PREFETCH_FRESH_MS = 10_000
const prefetched = new Map<string, { at: number; answer: Promise<ViewAnswer | undefined> }>()
const asked = new Set<string>()

/** What VIEW_BOOT_SCRIPT leaves on `window`. */
interface BootView {
  id: string
  at: number
  answer: Promise<unknown>
}
const BOOT_GLOBAL = '__tetherView'

/**
 * Run by the session page's and the terminal page's HTML as it is parsed (an inline script under the page's CSP nonce), so
 * the view is asked for before the page's JavaScript has loaded, let alone hydrated: on a loaded
 * box that is a second or more earlier. The same request prefetchSessionView makes (the link's
 * token, else the one remembered for the session, else the admin one; cookies go as usual); the
 * page adopts its answer. A constant: the session id is read from the address, nothing is embedded.
 */
export const VIEW_BOOT_SCRIPT = `try{var p=location.pathname.split('/');if(p[1]==='sessions'&&p[2]&&(!p[3]||p[3]==='terminal'&&!p[4])){var id=decodeURIComponent(p[2]),s=localStorage,t=new URLSearchParams(location.search).get('token')||s.getItem('${TOKEN_STORAGE_KEYS.sessionPrefix}'+id)||s.getItem('${TOKEN_STORAGE_KEYS.admin}');window.${BOOT_GLOBAL}={id:id,at:Date.now(),answer:fetch('${SESSIONS_MOUNT}/'+encodeURIComponent(id)+'/view',{headers:t?{authorization:'Bearer '+t}:{}}).then(function(r){return r.ok?r.json():undefined}).catch(function(){})}}}catch(e){}`

/** Takes over the boot script's request for this session, if it made one. */
function adoptBootView(sessionId: string): void {
  const holder = globalThis as unknown as Record<string, BootView | undefined>
  const boot = holder[BOOT_GLOBAL]
  if (!boot || boot.id !== sessionId || asked.has(sessionId)) return
  holder[BOOT_GLOBAL] = undefined
  asked.add(sessionId)
  prefetched.set(sessionId, { at: boot.at, answer: boot.answer.then((body) => (isViewAnswer(body) ? body : undefined)) })
}

export function prefetchSessionView(sessionId: string, token: string | undefined, origin: string): void {
  adoptBootView(sessionId)
  if (asked.has(sessionId)) return
  asked.add(sessionId)
  const answer = fetchSessionView(sessionId, token, origin).catch(() => undefined)
  prefetched.set(sessionId, { at: Date.now(), answer })
}

/** The prefetched view, once (undefined: none, or too old). */
export function takePrefetchedView(sessionId: string): Promise<ViewAnswer | undefined> | undefined {
  adoptBootView(sessionId)
  const entry = prefetched.get(sessionId)
  prefetched.delete(sessionId)
  if (!entry || Date.now() - entry.at > PREFETCH_FRESH_MS) return undefined
  return entry.answer
}

type Row = Record<string, unknown> & RowMeta

/** Rows as a reader of these events holds them (last write per key), `_seq` from `firstSeq` on. */
function rowsOf(events: readonly ViewEvent[], firstSeq: number): Map<string, Map<string, Row>> {
  const tables = new Map<string, Map<string, Row>>()
  let seq = firstSeq
  for (const e of events) {
    let table = tables.get(e.type)
    if (!table) tables.set(e.type, (table = new Map()))
    table.delete(e.key)
    if (e.headers.operation !== 'delete') table.set(e.key, { ...e.value, id: e.key, _seq: seq })
    seq++
  }
  return tables
}

export interface ViewHistorySnapshot {
  /** older messages, oldest first (may include ids the collections also have: the live ones win) */
  messages: Message[]
  /** turn records of the older messages */
  turns: AgentStateEntry[]
  /** earlier terminal lines, in stream order, `_seq` below every collection row's */
  terminal: Array<TerminalLine & RowMeta>
  /** more messages before `messages` on the server */
  hasOlderMessages: boolean
  /** more terminal output before `terminal` (or before the collections' first line) */
  hasEarlierTerminal: boolean
  loading: boolean
}

/** What came from the view beyond the head, as an external store (subscribe / getSnapshot). */
export class ViewHistory {
  private readonly listeners = new Set<() => void>()
  private olderEvents: ViewEvent[] = []
  private earlierLines: ViewEvent[] = []
  private olderBefore: string | null
  private terminalBefore: string | null
  private inFlight = 0
  private snapshot: ViewHistorySnapshot

  constructor(
    private readonly fetchPage: (query: Record<string, string>) => Promise<ViewAnswer>,
    head: Pick<ViewAnswer, 'olderBefore' | 'terminalBefore'>,
  ) {
    this.olderBefore = head.olderBefore
    this.terminalBefore = head.terminalBefore
    this.snapshot = this.build()
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  readonly getSnapshot = (): ViewHistorySnapshot => this.snapshot

  /** Fetches the next older page of messages (no-op when there is none or one is on its way). */
  loadOlderMessages(): Promise<void> {
    const before = this.olderBefore
    if (before === null || this.inFlight > 0) return Promise.resolve()
    return this.load({ before, limit: String(OLDER_PAGE) }, (page) => {
      this.olderEvents = [...page.events, ...this.olderEvents]
      this.olderBefore = page.olderBefore
    })
  }

  /** Fetches the terminal window before the earliest line held. */
  loadEarlierTerminal(): Promise<void> {
    const before = this.terminalBefore
    if (before === null || this.inFlight > 0) return Promise.resolve()
    return this.load({ terminalBefore: before }, (page) => {
      this.earlierLines = [...page.events, ...this.earlierLines]
      this.terminalBefore = page.terminalBefore
    })
  }

  private async load(query: Record<string, string>, apply: (page: ViewAnswer) => void): Promise<void> {
    this.inFlight++
    this.emit()
    try {
      apply(await this.fetchPage(query))
    } finally {
      this.inFlight--
      this.emit()
    }
  }

  private emit(): void {
    this.snapshot = this.build()
    for (const listener of [...this.listeners]) listener()
  }

  private build(): ViewHistorySnapshot {
    const older = rowsOf(this.olderEvents, 0)
    const values = <T>(type: string) => [...(older.get(type)?.values() ?? [])] as unknown as Array<T & RowMeta>
    // Earlier lines sort before the collections' rows (StreamDB's `_seq` starts at 0).
    const lines = rowsOf(this.earlierLines, -this.earlierLines.length)
    return {
      messages: deriveMessages(values<Chunk>('chunk'), values<ToolCall>('tool-call')),
      turns: values<AgentStateEntry>('agent-state'),
      terminal: [...(lines.get('terminal')?.values() ?? [])] as unknown as Array<TerminalLine & RowMeta>,
      hasOlderMessages: this.olderBefore !== null,
      hasEarlierTerminal: this.terminalBefore !== null,
      loading: this.inFlight > 0,
    }
  }
}
