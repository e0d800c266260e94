/**
 * Profiling aid for the session-page bench (not part of `npm run bench`): fills a session, opens
 * it in chromium with the CPU profiler on, and prints the functions with the most self time
 * while opening and while streaming.   tsx bench/profile-session-page.ts [messages] [terminalLines] [compact]
 * (`compact`: the session is compacted first, as the monitor does to a long session.)
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { issueToken, secretFromString } from '../src/lib/sessions/tokens'
import { startProductionServer } from '../test/support/production-server'
import { createBenchSession, fillSession, postEvents } from './session-fill'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

function snippet(url: string, line: number, col: number): string {
  const file = url.split('/').pop() ?? ''
  if (!file.endsWith('.js') || !existsSync(`dist/client/assets/${file}`)) return ''
  const text = readFileSync(`dist/client/assets/${file}`, 'utf8').split('\n')[line] ?? ''
  return text.slice(col, col + 90).replace(/\s+/g, ' ')
}

function top(profile: Profile, n = 25): string {
  const self = new Map<string, number>()
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i])
    if (!node) continue
    const f = node.callFrame
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber}:${f.columnNumber} ${snippet(f.url, f.lineNumber, f.columnNumber)}`
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${v.toFixed(0).padStart(7)} ms  ${k}`)
    .join('\n')
}

const messages = Number(process.argv[2] ?? 2000)
const lines = Number(process.argv[3] ?? 20000)
const compact = process.argv[4] === 'compact'
const secret = randomBytes(24).toString('base64url')
const server = await startProductionServer({
  TETHER_SECRET: secret,
  TETHER_WORKERS: 'off',
  TETHER_MONITOR_INTERVAL_MS: '0',
  TETHER_COMPACT_GRACE_MS: '0',
})
const token = await issueToken(secretFromString(secret), { role: 'admin', subject: 'bench-user' })
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] })
try {
  const id = await createBenchSession(server.url, token, 'profile')
  const filled = await fillSession({ origin: server.url, token, sessionId: id, messages, terminalLines: lines, log: console.log })
  if (compact) {
    const res = await fetch(`${server.url}/api/sessions/${id}/compact`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    console.log(`compact: HTTP ${res.status} ${await res.text()}`)
  }
  {
    // How long the server's SSE catch-up from -1 takes to say up-to-date (what the page waits for).
    const t = performance.now()
    const controller = new AbortController()
    const res = await fetch(`${server.url}/api/streams/sessions/${id}?offset=-1&live=sse`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    let bytes = 0
    let events = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.byteLength
      text += new TextDecoder().decode(value)
      events += (text.match(/event: control/g) ?? []).length
      if (/upToDate/.test(text)) break
      text = text.slice(-200)
    }
    controller.abort()
    console.log(
      `SSE catch-up: up-to-date after ${(performance.now() - t).toFixed(0)} ms, ${(bytes / 1e6).toFixed(1)} MB, ${events} control events`,
    )
  }
  const page = await browser.newPage({ viewport: { width: 1366, height: 860 } })
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 1000 })
  await cdp.send('Profiler.start')
  const t0 = Date.now()
  await page.goto(`${server.url}/sessions/${id}?token=${token}`)
  await page.waitForSelector(`[data-message-id="${filled.lastMessageId}"]`, { timeout: 300_000 })
  console.log(`last message shown after ${Date.now() - t0} ms`)
  const marks = await page.evaluate(() =>
    performance
      .getEntriesByType('mark')
      .map((m) => `${m.name} ${m.startTime.toFixed(0)}`)
      .join(', '),
  )
  console.log(`marks: ${marks}`)
  await page.waitForTimeout(2000)
  const open = (await cdp.send('Profiler.stop')) as unknown as { profile: Profile }
  console.log(`--- open\n${top(open.profile)}`)
  await cdp.send('Profiler.start')
  for (let i = 0; i < 200; i++) {
    await postEvents(server.url, token, id, [
      {
        channel: 'chunk',
        data: { messageId: 'live', role: 'assistant', author: 'agent-bench', turn: 9999, seq: i, delta: ` w${i}`, done: false },
      },
    ])
    await new Promise((r) => setTimeout(r, 10))
  }
  await page.waitForTimeout(1000)
  const live = (await cdp.send('Profiler.stop')) as unknown as { profile: Profile }
  console.log(`--- streaming 200 chunks\n${top(live.profile)}`)
} finally {
  await browser.close()
  await server.dispose()
}
process.exit(0)
