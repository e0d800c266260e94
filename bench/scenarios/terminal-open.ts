/**
 * The terminal pane with a long terminal (issue 10, "scroll-back loads by offset"), through the
 * whole production app (vite build, src/server/main.ts, workers off) and chromium. A session with
 * 100,000 rows of terminal output, written two ways:
 *   - batched: 1,000 commands with 100 rows each in one output event (as the worker batches);
 *   - one row per event: 100,000 output events (the worst case for the page's collections).
 * Measured: the terminal page opened cold until the newest row is in xterm (the pane writes the
 * newest window, TERMINAL_WINDOW rows, not all of it), the longest main-thread block meanwhile,
 * one "Load earlier output" (the window before fetched from the server, and xterm rewritten from
 * it), and "Load earlier" repeated to the start (the last click rewrites all 100,000 rows: what
 * opening cost before the window). Each session is opened once the monitor has checkpointed its
 * view (as on a running server: the first open reads only the stream after the checkpoint). The
 * per-row session is opened a second time (`again`): the server keeps the view its first open built. TERMINAL_OPEN_DEBUG=1 prints the page's timeline
 * (its marks and requests) and long tasks.
 * Needs a production build (`NODE_ENV=production npx vite build`) and /usr/bin/chromium.
 *
 *   tsx bench/scenarios/terminal-open.ts [--quick] [--batched-only]      run alone
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { chromium, type Browser, type Page } from 'playwright-core'
import { issueToken, secretFromString } from '../../src/lib/sessions/tokens'
import { startProductionServer } from '../../test/support/production-server'
import { createBenchSession, foldAsTheMonitorWould, postEvents } from '../session-fill'
import { waitForViewCheckpoint } from '../view-checkpoint'
import type { Scenario } from './types'

const END = 'END-OF-OUTPUT'
// tsx (esbuild keepNames) wraps functions in __name(...), which the page does not have.
const NAME_SHIM = { content: 'globalThis.__name = (f) => f' }

interface Probe {
  endAt?: number
  /** the connection badge said live (caught up with the stream) */
  liveAt?: number
  /** xterm writes: when called, how many characters, when parsed */
  writes: Array<{ at: number; chars: number; parsedAt?: number }>
  longTasks: Array<{ start: number; duration: number }>
}

/** Runs in the page before its scripts: when the END row first shows in xterm, and long tasks. */
function installTerminalProbe(end: string): void {
  const probe: Probe = { longTasks: [], writes: [] }
  ;(window as unknown as { __terminalProbe: Probe }).__terminalProbe = probe
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) probe.longTasks.push({ start: e.startTime, duration: e.duration })
    }).observe({ type: 'longtask', buffered: true })
  } catch {
    // no longtask support
  }
  type Buffer = { length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined }
  const frame = (t: number) => {
    if (probe.liveAt === undefined && document.querySelector('[data-testid="connection"][data-state="live"]')) probe.liveAt = t
    const host = document.querySelector('[data-testid="terminal-host"]') as (HTMLElement & { xterm?: { buffer: { active: Buffer } } }) | null
    const buffer = host?.xterm?.buffer.active
    const term = host?.xterm as unknown as { write(d: string, cb?: () => void): void; __probed?: boolean } | undefined
    if (term && !term.__probed) {
      term.__probed = true
      const write = term.write.bind(term)
      term.write = (d: string, cb?: () => void) => {
        const entry: { at: number; chars: number; parsedAt?: number } = { at: performance.now(), chars: d.length }
        probe.writes.push(entry)
        write(d, () => {
          entry.parsedAt = performance.now()
          cb?.()
        })
      }
    }
    if (buffer) {
      for (let i = Math.max(0, buffer.length - 60); i < buffer.length; i++) {
        if (buffer.getLine(i)?.translateToString(true).includes(end)) {
          probe.endAt = t
          return
        }
      }
    }
    requestAnimationFrame(frame)
  }
  requestAnimationFrame(frame)
}

type Event = { channel: string; data: Record<string, unknown> }

/** 100,000 rows (or fewer when quick) of output under `commands` commands. */
async function fill(origin: string, token: string, sessionId: string, rows: number, rowsPerEvent: number): Promise<number> {
  const commands = Math.max(1, Math.round(rows / 100))
  let batch: Event[] = []
  let bytes = 0
  let events = 0
  // The writer takes at most 1,000 events and 1 MiB a request.
  const flush = async (force = false) => {
    if (batch.length < 900 && bytes < 600_000 && !force) return
    if (batch.length) await postEvents(origin, token, sessionId, batch)
    events += batch.length
    batch = []
    bytes = 0
  }
  let row = 0
  for (let c = 0; c < commands; c++) {
    const id = `cmd${c}`
    batch.push({ channel: 'terminal', data: { id, kind: 'input', source: 'bench-user', data: `ls -la dir${c}` } })
    const perCommand = Math.round(rows / commands)
    for (let r = 0; r < perCommand; ) {
      let data = ''
      for (let k = 0; k < rowsPerEvent && r < perCommand; k++, r++, row++) {
        data += row === rows - 1 ? `${END}\r\n` : `-rw-r--r-- 1 user user ${String(row).padStart(7)} Nov 29 10:00 file-${row}.txt\r\n`
      }
      batch.push({ channel: 'terminal', data: { kind: 'output', source: 'agent-bench', stream: 'stdout', commandId: id, data } })
      bytes += data.length + 120
      await flush()
    }
  }
  await flush(true)
  return events
}

/**
 * Clicks "Load earlier output" and waits until xterm shows another first row (the pane rewrote it
 * from an earlier window: after fetching that window from the server when the page opened from
 * the view) and has parsed and painted all it wrote.
 */
async function loadEarlier(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const host = document.querySelector('[data-testid="terminal-host"]') as HTMLElement & {
      xterm: { write(data: string, cb: () => void): void; buffer: { active: { getLine(i: number): { translateToString(trim: boolean): string } | undefined } } }
    }
    const firstRow = () => host.xterm.buffer.active.getLine(0)?.translateToString(true)
    const before = firstRow()
    const button = document.querySelector('[data-testid="terminal-load-earlier"]') as HTMLButtonElement
    const frame = () => new Promise((r) => requestAnimationFrame(r))
    const t0 = performance.now()
    button.click()
    while (firstRow() === before) {
      // NaN: none drawn (the pane before 2026-11-30 fetched the window but never drew it).
      if (performance.now() - t0 > 15_000) return Number.NaN
      await frame()
    }
    // Queued after what the pane wrote: its callback runs once all of that is parsed.
    await new Promise<void>((r) => host.xterm.write('', r))
    await frame()
    return performance.now() - t0
  })
}

export interface TerminalOpenResult {
  batched: { live: number; open: number; longest: number; loadEarlier: number; allRows: number; clicks: number }
  /** `again`: a second open, the server's view kept from the first */
  perRow: { live: number; open: number; longest: number; again: number }
}

async function openOnce(browser: Browser, url: string): Promise<{ page: Page; live: number; open: number; longest: number; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 } })
  await context.addInitScript(NAME_SHIM)
  await context.addInitScript(installTerminalProbe, END)
  const page = await context.newPage()
  await page.goto(url)
  await page.waitForFunction(() => (window as unknown as { __terminalProbe: Probe }).__terminalProbe.endAt !== undefined, undefined, {
    timeout: 300_000,
    polling: 100,
  })
  const probe = await page.evaluate(() => (window as unknown as { __terminalProbe: Probe }).__terminalProbe)
  const open = probe.endAt ?? Number.NaN
  const longest = probe.longTasks.filter((t) => t.start < open).reduce((m, t) => Math.max(m, t.duration), 0)
  const big = probe.writes.filter((w) => w.chars > 10_000)
  if (process.env.TERMINAL_OPEN_DEBUG) {
    // The page's timeline: its marks (session-db.ts), and when each request started and ended.
    const timeline = await page.evaluate(() => [
      ...performance.getEntriesByType('mark').map((m) => `${m.name} ${m.startTime.toFixed(0)}`),
      ...(performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map(
        (r) => `${r.name.replace(/^https?:\/\/[^/]+/, '').slice(0, 60)} ${r.startTime.toFixed(0)}-${r.responseEnd.toFixed(0)} ${r.transferSize}B`,
      ),
      ...(performance.getEntriesByType('navigation') as PerformanceNavigationTiming[]).map(
        (n) => `html ${n.responseStart.toFixed(0)}-${n.responseEnd.toFixed(0)} dcl ${n.domContentLoadedEventEnd.toFixed(0)}`,
      ),
    ])
    console.error(JSON.stringify({ live: probe.liveAt, end: probe.endAt, big, tasks: probe.longTasks.map((t) => [Math.round(t.start), Math.round(t.duration)]) }))
    console.error(timeline.join('\n'))
  }
  return { page, live: probe.liveAt ?? Number.NaN, open, longest, close: () => context.close() }
}

export async function measureTerminalOpen(
  opts: { quick?: boolean; batchedOnly?: boolean; log?: (m: string) => void } = {},
): Promise<TerminalOpenResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const rows = opts.quick ? 20_000 : 100_000
  const secret = randomBytes(24).toString('base64url')
  // The monitor as production runs it (it keeps each session's view checkpoint), at 1 s so the
  // bench need not wait; no compaction behind the bench's back.
  const server = await startProductionServer({
    TETHER_SECRET: secret,
    TETHER_WORKERS: 'off',
    TETHER_MONITOR_INTERVAL_MS: '1000',
    TETHER_COMPACT_INTERVAL_MS: '0',
  })
  const token = await issueToken(secretFromString(secret), { role: 'admin', subject: 'bench-user' })
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
  })
  try {
    // A server that has served pages before (what a person meets): its first render of a route
    // after the process started costs module loading, not the page's open (as session-page.ts).
    await fetch(`${server.url}/sessions/s_warmup/terminal`).then((r) => r.text())
    const batchedId = await createBenchSession(server.url, token, 'long terminal, batched')
    log(`batched: ${await fill(server.url, token, batchedId, rows, 100)} events for ${rows} rows`)
    await foldAsTheMonitorWould(server.url, token, batchedId, 'batched', log)
    await waitForViewCheckpoint(server.url, token, server.dataDir, batchedId)

    const b = await openOnce(browser, `${server.url}/sessions/${batchedId}/terminal?token=${token}`)
    log(`batched: live ${b.live.toFixed(0)} ms, open ${b.open.toFixed(0)} ms, longest block ${b.longest.toFixed(0)} ms`)
    const earlier = await loadEarlier(b.page)
    log(`batched: one "Load earlier output" ${earlier.toFixed(0)} ms`)
    let clicks = 1
    let allRows = earlier
    while (!Number.isNaN(allRows) && (await b.page.$('[data-testid="terminal-load-earlier"]'))) {
      allRows = await loadEarlier(b.page)
      clicks++
    }
    log(`batched: all ${rows} rows after ${clicks} clicks; the last rewrite took ${allRows.toFixed(0)} ms`)
    await b.close()

    const batched = { live: b.live, open: b.open, longest: b.longest, loadEarlier: earlier, allRows, clicks }
    if (opts.batchedOnly) return { batched, perRow: { live: Number.NaN, open: Number.NaN, longest: Number.NaN, again: Number.NaN } }

    const perRowId = await createBenchSession(server.url, token, 'long terminal, a row per event')
    log(`one row per event: ${await fill(server.url, token, perRowId, rows, 1)} events for ${rows} rows`)
    await foldAsTheMonitorWould(server.url, token, perRowId, 'one row per event', log)
    await waitForViewCheckpoint(server.url, token, server.dataDir, perRowId)
    const p = await openOnce(browser, `${server.url}/sessions/${perRowId}/terminal?token=${token}`)
    log(`one row per event: live ${p.live.toFixed(0)} ms, open ${p.open.toFixed(0)} ms, longest block ${p.longest.toFixed(0)} ms`)
    await p.close()
    // Another person opening it (a fresh browser context: no IndexedDB): the server keeps the view
    // it built for the first open and reads only what is new, as it does for any session opened lately.
    const q = await openOnce(browser, `${server.url}/sessions/${perRowId}/terminal?token=${token}`)
    log(`one row per event, opened again: live ${q.live.toFixed(0)} ms, open ${q.open.toFixed(0)} ms, longest block ${q.longest.toFixed(0)} ms`)
    await q.close()
    return { batched, perRow: { live: p.live, open: p.open, longest: p.longest, again: q.open } }
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

export const terminalOpen: Scenario = {
  id: 'terminal-open',
  title: 'terminal page: open 100k rows of output (batched, and one row per event); load earlier (whole app, chromium)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    ms('batchedLive', 'batched: open until caught up with the stream'),
    ms('batchedOpen', 'batched: open until the newest row shows', 1000),
    ms('batchedLongest', 'batched: longest main-thread block while opening'),
    ms('loadEarlier', 'batched: one "Load earlier output"'),
    ms('allRows', 'batched: rewrite of all rows (last "Load earlier")'),
    ms('perRowLive', 'a row per event: open until caught up'),
    ms('perRowOpen', 'a row per event: open until the newest row shows', 1000),
    ms('perRowLongest', 'a row per event: longest block while opening'),
    ms('perRowAgain', 'a row per event: opened again (view kept by the server)', 1000),
  ],
  async run({ quick, log }) {
    const r = await measureTerminalOpen({ quick, log })
    return {
      batchedLive: r.batched.live,
      batchedOpen: r.batched.open,
      batchedLongest: r.batched.longest,
      loadEarlier: r.batched.loadEarlier,
      allRows: r.batched.allRows,
      perRowLive: r.perRow.live,
      perRowOpen: r.perRow.open,
      perRowLongest: r.perRow.longest,
      perRowAgain: r.perRow.again,
    }
  },
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, 'batched-only': { type: 'boolean', default: false } } })
  const r = await measureTerminalOpen({ quick: values.quick, batchedOnly: values['batched-only'] })
  console.log(JSON.stringify(r, null, 2))
  process.exit(0)
}
