/**
 * The session page with a long session (issue 10, "long sessions stay fast"), through the whole
 * production app (vite build served by src/server/main.ts, auth on, workers off) and chromium:
 *   - open: a session of 10,000 messages (assistant answers 20-60 chunks) and 100,000 terminal
 *     lines; the server's catch-up read from -1 (first byte, whole body), then the page opened
 *     cold (empty IndexedDB) and again (reload: the snapshot cache): first message painted,
 *     interactive (last message shown, message box enabled, then 500 ms without long tasks or
 *     frame gaps over 50 ms), the longest main-thread block;
 *   - stream: a 1,000-message session receiving an assistant message at 100 chunks/s for 10 s:
 *     frames dropped (gaps over 2 × 16.7 ms), lag from a chunk's POST to its text in the DOM.
 * Needs a production build (`NODE_ENV=production npx vite build`) and /usr/bin/chromium.
 *
 *   tsx bench/scenarios/session-page.ts [--quick]      run alone
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { chromium, type Browser, type Page } from 'playwright-core'
import { issueToken, secretFromString } from '../../src/lib/sessions/tokens'
import { startProductionServer } from '../../test/support/production-server'
import { createBenchSession, fillSession, measureCatchUp, postEvents } from '../session-fill'
import { frameStats, installProbe, type ProbeState } from '../session-page-probe'
import { percentile } from '../stats'
import type { Scenario } from './types'

const QUIET_MS = 500
// tsx (esbuild keepNames) wraps functions in __name(...), which the page does not have.
const NAME_SHIM = { content: 'globalThis.__name = (f) => f' }

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
  })
}

const probeOf = (page: Page) => page.evaluate(() => window.__probe)

interface OpenTimes {
  firstMessage: number
  interactive: number
  longest: number
}

/** Waits until the page is interactive (see the header) and reads the probe. */
async function waitInteractive(page: Page, timeoutMs = 120_000): Promise<OpenTimes> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (Date.now() > deadline) {
      const p: ProbeState = await probeOf(page)
      const shown = await page.$$eval('[data-testid="message"]', (els) => els.map((e) => e.getAttribute('data-message-id')).slice(-3))
      const recent = p.longTasks.slice(-5).map((t) => `${t.start.toFixed(0)}+${t.duration.toFixed(0)}`)
      const last = p.frames.slice(-6).map((f) => f.toFixed(0))
      throw new Error(
        `page never became interactive: first message ${p.firstMessageAt}, target ${p.targetAt}, ready ${p.readyAt}; last shown ${shown.join(',')}; ` +
          `${p.longTasks.length} long tasks, last ${recent.join(' ')}; last frames ${last.join(' ')}`,
      )
    }
    await page.waitForTimeout(100)
    const p: ProbeState = await probeOf(page)
    if (p.readyAt === undefined) continue
    const now = p.frames[p.frames.length - 1] ?? 0
    const lastLong = p.longTasks.reduce((end, t) => Math.max(end, t.start + t.duration), 0)
    let lastGap = 0
    for (let i = 1; i < p.frames.length; i++) if (p.frames[i] - p.frames[i - 1] > 50) lastGap = p.frames[i]
    const busyUntil = Math.max(lastLong, lastGap)
    if (now - Math.max(busyUntil, p.readyAt) < QUIET_MS) continue
    // The message box takes typing.
    await page.fill('[data-testid="composer"]', 'typing works')
    if ((await page.inputValue('[data-testid="composer"]')) !== 'typing works') throw new Error('composer does not take typing')
    await page.fill('[data-testid="composer"]', '')
    return {
      firstMessage: p.firstMessageAt ?? Number.NaN,
      interactive: Math.max(p.readyAt, busyUntil),
      longest: p.longTasks.reduce((m, t) => Math.max(m, t.duration), 0),
    }
  }
}

export interface SessionPageResult {
  catchupFirstByte: number
  catchupFull: number
  catchupMB: number
  cold: OpenTimes
  warm: OpenTimes
  stream: { dropped: number; frames: number; longestGap: number; lagP50: number; lagP99: number }
}

export async function measureSessionPage(opts: { quick?: boolean; log?: (m: string) => void } = {}): Promise<SessionPageResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const secret = randomBytes(24).toString('base64url')
  const server = await startProductionServer({ TETHER_SECRET: secret, TETHER_WORKERS: 'off', TETHER_MONITOR_INTERVAL_MS: '0' })
  const token = await issueToken(secretFromString(secret), { role: 'admin', subject: 'bench-user' })
  const browser = await launch()
  try {
    const big = opts.quick ? { messages: 2_000, terminalLines: 20_000 } : { messages: 10_000, terminalLines: 100_000 }
    const id = await createBenchSession(server.url, token, 'long session')
    const filled = await fillSession({ origin: server.url, token, sessionId: id, ...big, log })
    await measureCatchUp(server.url, token, id) // warm-up: page cache, JIT
    const catchUp = await measureCatchUp(server.url, token, id)
    log(`catch-up: first byte ${catchUp.firstByteMs.toFixed(0)} ms, full ${catchUp.fullMs.toFixed(0)} ms, ${(catchUp.bytes / 1e6).toFixed(1)} MB`)

    const context = await browser.newContext({ viewport: { width: 1366, height: 860 } })
    await context.addInitScript(NAME_SHIM)
    await context.addInitScript(installProbe)
    await context.addInitScript((target: string) => {
      window.__probe.target = target
    }, filled.lastMessageId)
    const page = await context.newPage()
    page.on('pageerror', (e) => log(`page error: ${e.message}`))
    await page.goto(`${server.url}/sessions/${id}?token=${token}`)
    const cold = await waitInteractive(page)
    log(`cold open: first message ${cold.firstMessage.toFixed(0)} ms, interactive ${cold.interactive.toFixed(0)} ms, longest block ${cold.longest.toFixed(0)} ms`)
    await page.waitForTimeout(1500) // the snapshot is saved at most once a second
    await page.reload()
    const warm = await waitInteractive(page)
    log(`reopen: first message ${warm.firstMessage.toFixed(0)} ms, interactive ${warm.interactive.toFixed(0)} ms, longest block ${warm.longest.toFixed(0)} ms`)
    await context.close()

    // Streaming into a 1,000-message session.
    const sid = await createBenchSession(server.url, token, 'streaming')
    await fillSession({ origin: server.url, token, sessionId: sid, messages: 1_000, terminalLines: 10_000, log })
    const ctx2 = await browser.newContext({ viewport: { width: 1366, height: 860 } })
    await ctx2.addInitScript(NAME_SHIM)
    await ctx2.addInitScript(installProbe)
    await ctx2.addInitScript(() => {
      window.__probe.target = 'm999'
      window.__probe.watch = 'live'
    })
    const page2 = await ctx2.newPage()
    await page2.goto(`${server.url}/sessions/${sid}?token=${token}`)
    await waitInteractive(page2)
    const chunks = opts.quick ? 300 : 1_000
    const sent: number[] = []
    const from = await page2.evaluate(() => performance.now())
    const t0 = Date.now()
    for (let i = 0; i < chunks; i++) {
      const due = t0 + i * 10
      const wait = due - Date.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      sent.push(Date.now())
      await postEvents(server.url, token, sid, [
        {
          channel: 'chunk',
          data: { messageId: 'live', role: 'assistant', author: 'agent-bench', turn: 600, seq: i, delta: ` w${i}`, done: i === chunks - 1 },
        },
      ])
    }
    const to = await page2.evaluate(() => performance.now())
    const deadline = Date.now() + 30_000
    let probe: ProbeState = await probeOf(page2)
    while (probe.seen[chunks - 1] === undefined && Date.now() < deadline) {
      await page2.waitForTimeout(100)
      probe = await probeOf(page2)
    }
    const lags = sent.map((at, i) => (probe.seen[i] ?? Number.NaN) - at)
    const missing = lags.filter((l) => Number.isNaN(l)).length
    if (missing > 0) log(`stream: ${missing} of ${chunks} chunks never shown within 30 s after the stream ended`)
    const frames = frameStats(probe.frames, from, to)
    const shown = lags.filter((l) => !Number.isNaN(l))
    const stream = {
      dropped: frames.dropped,
      frames: frames.count,
      longestGap: frames.longestGap,
      lagP50: missing ? Number.POSITIVE_INFINITY : percentile(shown, 50),
      lagP99: missing ? Number.POSITIVE_INFINITY : percentile(shown, 99),
    }
    log(
      `stream: ${stream.frames} frames, ${stream.dropped} dropped, longest gap ${stream.longestGap.toFixed(0)} ms, lag p50 ${stream.lagP50.toFixed(0)} ms p99 ${stream.lagP99.toFixed(0)} ms`,
    )
    await ctx2.close()
    return { catchupFirstByte: catchUp.firstByteMs, catchupFull: catchUp.fullMs, catchupMB: catchUp.bytes / 1e6, cold, warm, stream }
  } catch (err) {
    log(`server output (tail):\n${server.output().slice(-3000)}`)
    throw err
  } finally {
    await browser.close()
    await server.dispose()
  }
}

const ms = (key: string, label: string, target?: number) => ({
  key,
  label,
  unit: 'ms',
  better: 'lower' as const,
  digits: 0,
  ...(target === undefined ? {} : { target: { op: '<' as const, value: target } }),
})

export const sessionPage: Scenario = {
  id: 'session-page',
  title: 'session page: open 10k messages + 100k terminal lines; 100 chunks/s into 1k messages (whole app, chromium)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    ms('catchupFirstByte', 'catch-up read -1: first byte'),
    ms('catchupFull', 'catch-up read -1: whole body'),
    ms('coldFirstMessage', 'cold open: first message painted'),
    ms('coldInteractive', 'cold open: interactive', 1000),
    ms('coldLongest', 'cold open: longest main-thread block'),
    ms('warmFirstMessage', 'reopen (snapshot): first message painted'),
    ms('warmInteractive', 'reopen (snapshot): interactive', 1000),
    ms('warmLongest', 'reopen (snapshot): longest block'),
    { key: 'dropped', label: 'stream 100/s: frames dropped (gap > 33 ms)', unit: 'frames', better: 'lower', digits: 0, target: { op: '<=', value: 0 } },
    ms('longestGap', 'stream 100/s: longest frame gap'),
    ms('lagP50', 'stream 100/s: chunk → DOM p50'),
    ms('lagP99', 'stream 100/s: chunk → DOM p99'),
  ],
  async run({ quick, log }) {
    const r = await measureSessionPage({ quick, log })
    return {
      catchupFirstByte: r.catchupFirstByte,
      catchupFull: r.catchupFull,
      coldFirstMessage: r.cold.firstMessage,
      coldInteractive: r.cold.interactive,
      coldLongest: r.cold.longest,
      warmFirstMessage: r.warm.firstMessage,
      warmInteractive: r.warm.interactive,
      warmLongest: r.warm.longest,
      dropped: r.stream.dropped,
      longestGap: r.stream.longestGap,
      lagP50: r.stream.lagP50,
      lagP99: r.stream.lagP99,
    }
  },
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
  const r = await measureSessionPage({ quick: values.quick })
  console.log(JSON.stringify(r, null, 2))
  process.exit(0)
}
