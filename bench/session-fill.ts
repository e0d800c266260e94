/**
 * Fills a session through the session writer (`POST /api/streams?sessionId=`, admin token, at most
 * 1,000 events a request) with a realistic long conversation: user messages of one chunk and
 * assistant answers streamed as 20-60 chunks, plus terminal commands with many output lines.
 * Deterministic (seeded), so every run and every server sees the same session.
 */
export interface FillOptions {
  origin: string
  token: string
  sessionId: string
  messages: number
  terminalLines: number
  log?: (m: string) => void
}

export interface FilledSession {
  firstMessageId: string
  lastMessageId: string
  /** the last message's whole text, to check it is shown */
  lastText: string
  events: number
}

/** mulberry32: small seeded PRNG so the fill is the same every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = 'the agent reads files runs tests and writes a careful answer about what changed and why it matters'.split(' ')

type Event = { channel: string; data: Record<string, unknown> }

export async function postEvents(origin: string, token: string, sessionId: string, events: Event[]): Promise<void> {
  const res = await fetch(`${origin}/api/streams?sessionId=${encodeURIComponent(sessionId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(events),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`writer: HTTP ${res.status} ${text.slice(0, 300)}`)
}

export async function createBenchSession(origin: string, token: string, title: string): Promise<string> {
  const res = await fetch(`${origin}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title, pattern: 'long-running' }),
  })
  const text = await res.text()
  if (res.status !== 201) throw new Error(`create session: HTTP ${res.status} ${text.slice(0, 300)}`)
  return (JSON.parse(text) as { session: { id: string } }).session.id
}

export async function fillSession(o: FillOptions): Promise<FilledSession> {
  const rand = prng(42)
  const pending: Event[] = []
  let events = 0
  const flush = async (force = false) => {
    while (pending.length >= 1000 || (force && pending.length > 0)) {
      const batch = pending.splice(0, 1000)
      await postEvents(o.origin, o.token, o.sessionId, batch)
      events += batch.length
    }
  }
  const t0 = Date.now()
  let lastText = ''
  // Terminal lines are spread over the conversation, as a real session interleaves them.
  const linesPerMessage = o.terminalLines / o.messages
  let lines = 0
  let command = 0
  for (let m = 0; m < o.messages; m++) {
    const user = m % 2 === 0
    const messageId = `m${m}`
    const turn = Math.floor(m / 2) + 1
    if (user) {
      lastText = `question ${m}: ${WORDS.slice(0, 3 + Math.floor(rand() * 10)).join(' ')}`
      pending.push({
        channel: 'chunk',
        data: { messageId, role: 'user', author: 'bench-user', turn, seq: 0, delta: lastText, done: true },
      })
    } else {
      const n = 20 + Math.floor(rand() * 41)
      const parts: string[] = []
      for (let s = 0; s < n; s++) {
        const delta = `${s ? ' ' : `answer ${m}: `}${WORDS[Math.floor(rand() * WORDS.length)]}`
        parts.push(delta)
        pending.push({
          channel: 'chunk',
          data: { messageId, role: 'assistant', author: 'agent-bench', turn, seq: s, delta, done: s === n - 1 },
        })
      }
      lastText = parts.join('')
    }
    const want = Math.round((m + 1) * linesPerMessage)
    if (want > lines) {
      const inputId = `cmd${command++}`
      pending.push({ channel: 'terminal', data: { id: inputId, kind: 'input', source: 'bench-user', data: `ls -la dir${command}` } })
      lines++
      while (lines < want) {
        pending.push({
          channel: 'terminal',
          data: { kind: 'output', source: 'agent-bench', stream: 'stdout', commandId: inputId, data: `-rw-r--r-- 1 user user ${lines} file${lines}.txt\r\n` },
        })
        lines++
      }
    }
    await flush()
  }
  await flush(true)
  o.log?.(`filled ${o.messages} messages, ${lines} terminal lines: ${events} events in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return { firstMessageId: 'm0', lastMessageId: `m${o.messages - 1}`, lastText, events }
}

/** Time to the first byte and to the whole body of the catch-up read from -1 (following offsets to the tail). */
export async function measureCatchUp(origin: string, token: string, sessionId: string): Promise<{ firstByteMs: number; fullMs: number; bytes: number }> {
  let offset = '-1'
  let firstByteMs = Number.NaN
  let bytes = 0
  const t0 = performance.now()
  for (;;) {
    const res = await fetch(`${origin}/api/streams/sessions/${sessionId}?offset=${encodeURIComponent(offset)}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    const reader = res.body?.getReader()
    if (!reader) throw new Error('no body')
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (Number.isNaN(firstByteMs)) firstByteMs = performance.now() - t0
      bytes += value.byteLength
    }
    if (!res.ok) throw new Error(`catch-up read: HTTP ${res.status}`)
    const next = res.headers.get('stream-next-offset')
    if (res.headers.has('stream-up-to-date') || !next || next === offset) break
    offset = next
  }
  return { firstByteMs, fullMs: performance.now() - t0, bytes }
}

/**
 * The server's session record (GET /api/sessions/:id, session-log.ts) folds what was appended
 * since its last read; the monitor reads every live session every few seconds, so a running
 * server meets a page with it current (this reads it at once rather than wait a tick). Without this the page's
 * own record request folded every event of the fill and held the server's one thread for seconds
 * (terminal page: 2.3 s for 100,000 per-row events at load 8; session page: the reload of the
 * uncompacted 10,000-message session waited 4-6 s for the fold its first open had started).
 * The view (GET …/view) is not read here: see view-checkpoint.ts.
 */
export async function foldAsTheMonitorWould(origin: string, token: string, sessionId: string, label: string, log: (m: string) => void): Promise<void> {
  const t0 = performance.now()
  const res = await fetch(`${origin}/api/sessions/${sessionId}`, { headers: { authorization: `Bearer ${token}` } })
  await res.text()
  log(`${label}: the session record's first read after the fill (server fold) ${(performance.now() - t0).toFixed(0)} ms`)
}
