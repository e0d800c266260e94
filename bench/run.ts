/**
 * `npm run bench [-- --quick] [-- --only sequential,sse100] [-- --servers ours-normal,ref-memory]
 *  [-- --json out.json] [-- --tsx]`
 *
 * Servers run compiled (esbuild bundles under dist/, plain node, as production runs) unless
 * --tsx runs their TypeScript sources under tsx.
 *
 * For each scenario, starts each server kind in its own child process on a fresh data dir, runs
 * the scenario `repeats` times against it, keeps the median, stops it, and moves on, so every
 * server sees the same load generator under the same machine conditions. Prints one markdown
 * table at the end (and progress on stderr).
 */
import { dropPostgresDatabaseFor } from './postgres'
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { scenarios } from './scenarios/index'
import type { MetricValues, Scenario } from './scenarios/types'
import {
  allServerKinds,
  knownServerKinds,
  buildBundles,
  isAvailable,
  launches,
  makeDataDir,
  removeDataDir,
  serverLabels,
  startServer,
  type ServerKind,
} from './servers'
import { cpuSecondsOf } from './proc'
import { median } from './stats'
import { renderTable, type Results } from './table'
import { checkTargets, renderTargets } from './targets'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    servers: { type: 'string' },
    json: { type: 'string' },
    tsx: { type: 'boolean', default: false },
  },
})

const log = (msg: string) => process.stderr.write(`${msg}\n`)

function pick<T extends { id: string }>(all: T[], csv: string | undefined, what: string): T[] {
  if (!csv) return all
  const ids = csv.split(',').map((s) => s.trim())
  for (const id of ids) if (!all.some((x) => x.id === id)) throw new Error(`unknown ${what} ${id}`)
  return all.filter((x) => ids.includes(x.id))
}

const selected: Scenario[] = pick(scenarios, args.only, 'scenario')
let kinds: ServerKind[] = args.servers
  ? pick(
      knownServerKinds.map((id) => ({ id })),
      args.servers,
      'server',
    ).map((x) => x.id)
  : allServerKinds
const missing = kinds.filter((k) => !isAvailable(k))
if (missing.length > 0) {
  log(`skipping ${missing.join(', ')}: ${missing.map((k) => launches[k].entry).join(', ')} not found`)
  kinds = kinds.filter((k) => isAvailable(k))
}

async function runOn(scenario: Scenario, kind: ServerKind): Promise<Record<string, number>> {
  const dataDir = makeDataDir()
  const server = await startServer(launches[kind], { dataDir, runner: args.tsx ? 'tsx' : 'compiled' })
  const runs: MetricValues[] = []
  try {
    for (let i = 0; i < (args.quick ? 1 : scenario.repeats); i++) {
      const prefix = `  ${scenario.id} ${serverLabels[kind]}${scenario.repeats > 1 ? ` #${i + 1}` : ''}`
      const cpu0 = { server: cpuSecondsOf(server.pid), self: process.cpuUsage(), at: performance.now() }
      try {
        const values = await scenario.run({
          server,
          kind,
          quick: args.quick,
          log: (m) => log(`${prefix}: ${m}`),
        })
        // CPU shares tell whether the server or the load generator was the bottleneck.
        const wall = (performance.now() - cpu0.at) / 1000
        const self = process.cpuUsage(cpu0.self)
        const serverCpu = (cpuSecondsOf(server.pid) - cpu0.server) / wall
        const selfCpu = (self.user + self.system) / 1e6 / wall
        log(
          `${prefix}: ${Object.entries(values)
            .map(([k, v]) => `${k}=${v.toFixed(2)}`)
            .join(' ')}` + ` (cpu: server ${(serverCpu * 100).toFixed(0)}%, load generator ${(selfCpu * 100).toFixed(0)}%)`,
        )
        runs.push(values)
      } catch (err) {
        log(`${prefix}: FAILED ${(err as Error).message}`)
        runs.push(Object.fromEntries(scenario.metrics.map((m) => [m.key, Number.NaN])))
      }
    }
  } finally {
    await server.stop()
    removeDataDir(dataDir)
    if (kind === 'ours-postgres') await dropPostgresDatabaseFor(dataDir)
  }
  // A metric no run reported is one this server kind does not have (shown as '-', not 'failed').
  const reported = scenario.metrics.filter((m) => runs.some((r) => r[m.key] !== undefined))
  return Object.fromEntries(reported.map((m) => [m.key, median(runs.map((r) => r[m.key]).filter((v) => v !== undefined))]))
}

if (!args.tsx) buildBundles()

/**
 * Between runs the load generator should be idle. Readers or timers a run left behind (a failed
 * slow-readers run once kept reconnecting at ~80 % of a core) would steal CPU from every later
 * row, so a busy idle moment is reported on stderr and the summary.
 */
const busyBetweenRuns: string[] = []
async function busyShare(ms: number): Promise<number> {
  const before = process.cpuUsage()
  await new Promise((r) => setTimeout(r, ms))
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1e3 / ms
}
async function warnIfBusyBetweenRuns(after: string): Promise<void> {
  // 100 ms per server run (~7 s of a full run): the leak it looks for used ~80 % of a core.
  if ((await busyShare(100)) < 0.2) return
  // A run's own teardown (1,000 sockets closing, the collector after them) can still be busy at
  // once; what is busy a second later is a leak (the 12-01 run warned once for sse1000's teardown).
  await new Promise((r) => setTimeout(r, 1_000))
  const share = await busyShare(200)
  if (share < 0.2) return
  busyBetweenRuns.push(after)
  log(
    `  WARNING: the load generator used ${(share * 100).toFixed(0)} % of a core while idle after ${after}: something it started is still running`,
  )
}

const results: Results = {}
const started = Date.now()
// Other builds share this machine: the load average says how noisy the run was.
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')
const loadBefore = load()
// Where a run's minutes go (issue 13 bar 1 holds a full run to 15 minutes).
const secondsPerScenario: [string, number][] = []
for (const scenario of selected) {
  log(`${scenario.title}`)
  results[scenario.id] = {}
  const scenarioStarted = performance.now()
  for (const kind of kinds) {
    if (scenario.servers && !scenario.servers.includes(kind)) continue
    const kindStarted = performance.now()
    results[scenario.id][kind] = await runOn(scenario, kind)
    log(`  ${scenario.id} ${serverLabels[kind]}: ${((performance.now() - kindStarted) / 1000).toFixed(1)} s`)
    await warnIfBusyBetweenRuns(`${scenario.id} ${serverLabels[kind]}`)
  }
  secondsPerScenario.push([scenario.id, (performance.now() - scenarioStarted) / 1000])
}
log(
  `seconds per scenario: ${secondsPerScenario
    .sort((a, b) => b[1] - a[1])
    .map(([id, s]) => `${id} ${s.toFixed(0)}`)
    .join(', ')}`,
)

const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
console.log(
  `\nnpm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}` +
    ` · ${when} · ${Math.round((Date.now() - started) / 1000)} s` +
    ` · load average before ${loadBefore}, after ${load()}` +
    ` · servers run ${args.tsx ? 'under tsx (sources)' : 'compiled (esbuild bundles, plain node)'}` +
    `${args.quick ? ' · QUICK MODE: reduced sizes, 1 run each' : ''}\n`,
)
console.log(renderTable(selected, results))
const targets = checkTargets(results)
console.log(`\n${renderTargets(targets)}`)
if (busyBetweenRuns.length > 0)
  console.log(`\nWARNING: the load generator was busy while idle after ${busyBetweenRuns.join(', ')}: later rows ran beside it.`)
if (args.json) writeFileSync(args.json, JSON.stringify({ when, quick: args.quick, results, targets }, null, 2))
// Exit even if a scenario left a handle open (the run is over; nothing is waited for).
process.exit(0)
