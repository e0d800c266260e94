/**
 * Where a session page's open goes (issue 10, not part of `npm run bench`): fills a session,
 * compacts it, then opens it in chromium twice (cold context, then a reload) with chromium's
 * trace on and prints the main thread's time by kind (script compile / evaluate, function calls,
 * style and layout, paint, GC, HTML parse) and the CPU profile's self time per script file, both
 * from navigation to the last message and composer being usable, plus the page's marks.
 *   tsx bench/trace-session-open.ts [messages] [terminalLines]
 */
import { randomBytes } from 'node:crypto'
import { chromium, type CDPSession, type Page } from 'playwright-core'
import { issueToken, secretFromString } from '../src/lib/sessions/tokens'
import { startProductionServer } from '../test/support/production-server'
import { createBenchSession, fillSession } from './session-fill'

interface TraceEvent {
  name: string
  ph: string
  ts: number
  dur?: number
  tid: number
  pid: number
  cat: string
  args?: { data?: { url?: string; frame?: string } }
}

interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>
  samples: number[]
  timeDeltas: number[]
}

/** Self time per function and per script file. */
function printProfile(profile: Profile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const fn = new Map<string, number>()
  const file = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const f = byId.get(profile.samples[i])?.callFrame
    if (!f) continue
    const dt = (profile.timeDeltas[i] ?? 0) / 1000
    const url = f.url.split('/').pop()?.split('?')[0] || f.functionName
    if (f.functionName === '(idle)') continue
    file.set(url, (file.get(url) ?? 0) + dt)
    const key = `${f.functionName || '(anon)'} ${url}:${f.lineNumber}:${f.columnNumber}`
    fn.set(key, (fn.get(key) ?? 0) + dt)
  }
  const show = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `    ${v.toFixed(0).padStart(6)} ms ${k}`).join('\n')
  console.log(`  self time by file:\n${show(file, 12)}\n  by function:\n${show(fn, 25)}`)
}

const messages = Number(process.argv[2] ?? 2000)
const lines = Number(process.argv[3] ?? 20000)

async function traced(page: Page, cdp: CDPSession, open: () => Promise<unknown>, target: string): Promise<void> {
  const events: TraceEvent[] = []
  // The protocol types trace events as string maps; these carry the fields TraceEvent names.
  cdp.on('Tracing.dataCollected', (e) => void events.push(...(e.value as unknown as TraceEvent[])))
  const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()))
  await cdp.send('Tracing.start', {
    categories: 'devtools.timeline,v8,v8.execute,disabled-by-default-devtools.timeline,blink.user_timing,loading',
    transferMode: 'ReportEvents',
  })
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 })
  await cdp.send('Profiler.start')
  await open()
  await page.waitForSelector(`[data-message-id="${target}"]`, { timeout: 120_000 })
  await page.waitForFunction(() => !(document.querySelector('[data-testid="composer"]') as HTMLTextAreaElement | null)?.disabled, null, {
    timeout: 120_000,
  })
  const usable = await page.evaluate(() => performance.now())
  await page.waitForTimeout(1500)
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: Profile }
  printProfile(profile)
  await cdp.send('Tracing.end')
  await done
  const marks = await page.evaluate(() =>
    [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('mark')]
      .map((m) => `${m.name.replace(/^tether:/, '').replace(/^http.*/, 'nav')} ${(m as PerformanceNavigationTiming).responseEnd?.toFixed(0) ?? m.startTime.toFixed(0)}`)
      .join(', '),
  )
  console.log(`composer usable at ${usable.toFixed(0)} ms; marks: ${marks}`)
  // The renderer's main thread: the thread with the most top-level RunTask time in the page's process.
  const nav = events.find((e) => e.name === 'navigationStart' || e.name === 'TracingStartedInBrowser')
  const mainTid = (() => {
    const byTid = new Map<string, number>()
    for (const e of events) if (e.name === 'FunctionCall' || e.name === 'EvaluateScript') byTid.set(`${e.pid}:${e.tid}`, (byTid.get(`${e.pid}:${e.tid}`) ?? 0) + (e.dur ?? 0))
    return [...byTid].sort((a, b) => b[1] - a[1])[0]?.[0]
  })()
  const main = events.filter((e) => `${e.pid}:${e.tid}` === mainTid && e.ph === 'X')
  const start = Math.min(...main.filter((e) => e.name === 'ParseHTML' || e.name === 'RunTask').map((e) => e.ts))
  const end = start + usable * 1000 + 1500_000
  void nav
  const kinds: Record<string, string[]> = {
    'compile (v8.compile, compile code)': ['v8.compile', 'V8.CompileCode', 'v8.compileModule', 'V8.CompileLazy'],
    'evaluate script / module': ['EvaluateScript', 'v8.evaluateModule'],
    'function calls (events, timers, microtasks)': ['FunctionCall', 'TimerFire', 'FireAnimationFrame', 'RunMicrotasks', 'EventDispatch'],
    'style + layout': ['UpdateLayoutTree', 'Layout', 'RecalculateStyles'],
    'paint + composite': ['Paint', 'PrePaint', 'Layerize', 'UpdateLayer', 'CompositeLayers'],
    'parse HTML': ['ParseHTML'],
    'GC': ['MinorGC', 'MajorGC', 'V8.GC_SCAVENGER', 'BlinkGC.AtomicPhase'],
    'total tasks (RunTask)': ['RunTask'],
  }
  for (const [label, names] of Object.entries(kinds)) {
    // only outermost events of these names (nested same-kind events are counted once)
    const evs = main.filter((e) => names.includes(e.name) && e.ts >= start && e.ts <= end).sort((a, b) => a.ts - b.ts)
    let total = 0
    let until = 0
    for (const e of evs) {
      const s = Math.max(e.ts, until)
      const f = e.ts + (e.dur ?? 0)
      if (f > s) total += f - s
      until = Math.max(until, f)
    }
    console.log(`  ${label.padEnd(46)} ${(total / 1000).toFixed(0).padStart(6)} ms`)
  }
  const compileByUrl = new Map<string, number>()
  for (const e of main) {
    if (!['v8.compile', 'EvaluateScript', 'v8.evaluateModule', 'v8.compileModule'].includes(e.name)) continue
    const url = (e.args?.data?.url ?? '(inline)').split('/').pop() ?? ''
    compileByUrl.set(`${e.name} ${url}`, (compileByUrl.get(`${e.name} ${url}`) ?? 0) + (e.dur ?? 0))
  }
  for (const [k, v] of [...compileByUrl].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`    ${(v / 1000).toFixed(0).padStart(6)} ms ${k}`)
  // The longest top-level tasks and what they were.
  const tasks = main.filter((e) => e.name === 'RunTask' && (e.dur ?? 0) > 50_000 && e.ts >= start && e.ts <= end)
  const describe = (t: TraceEvent) => {
    const inner = main.filter((e) => e.ts >= t.ts && e.ts + (e.dur ?? 0) <= t.ts + (t.dur ?? 0) && e.name !== 'RunTask')
    const by = new Map<string, number>()
    for (const e of inner) if (['EvaluateScript', 'v8.evaluateModule', 'FunctionCall', 'TimerFire', 'FireAnimationFrame', 'RunMicrotasks', 'Layout', 'UpdateLayoutTree', 'ParseHTML', 'v8.compile', 'Paint', 'MajorGC', 'MinorGC'].includes(e.name)) by.set(e.name, (by.get(e.name) ?? 0) + (e.dur ?? 0))
    return [...by].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${(v / 1000).toFixed(0)}`).join(', ')
  }
  for (const t of tasks) console.log(`    task at ${((t.ts - start) / 1000).toFixed(0)} ms, ${((t.dur ?? 0) / 1000).toFixed(0)} ms: ${describe(t)}`)
}

const secret = randomBytes(24).toString('base64url')
const server = await startProductionServer({ TETHER_SECRET: secret, TETHER_WORKERS: 'off', TETHER_MONITOR_INTERVAL_MS: '0', TETHER_COMPACT_GRACE_MS: '0' })
const token = await issueToken(secretFromString(secret), { role: 'admin', subject: 'bench-user' })
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
try {
  const id = await createBenchSession(server.url, token, 'trace')
  const filled = await fillSession({ origin: server.url, token, sessionId: id, messages, terminalLines: lines })
  const res = await fetch(`${server.url}/api/sessions/${id}/compact`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
  if (!res.ok) throw new Error(`compact ${res.status}`)
  await fetch(`${server.url}/sessions/s_warmup`).then((r) => r.text())
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 } })
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  const url = `${server.url}/sessions/${id}?token=${token}`
  console.log('--- cold')
  await traced(page, cdp, () => page.goto(url), filled.lastMessageId)
  console.log('--- reload')
  await traced(page, cdp, () => page.reload(), filled.lastMessageId)
} finally {
  await browser.close()
  await server.dispose()
}
process.exit(0)
