/**
 * Where a warm claim's time goes (issue #13): N docker (or process) warm claims, each timed
 * step by step from `POST /api/sessions` to the bench's reader seeing the first agent-state:
 * the create's answer, the runtime's claim() call, and the worker's own debug records (its
 * clock is the host's). Not part of `npm run bench`; run by hand:
 *   flock /tmp/tether-bench.lock npx tsx bench/claim-steps.ts [docker|process] [samples]
 */
import { stream } from '@durable-streams/client'
import type { RuntimeKind } from '../src/lib/workers/runtime'
import { prepareDocker, startWorkerApp, waitForPool, type WorkerApp } from './worker-app'

const runtime = (process.argv[2] ?? 'docker') as RuntimeKind
const samples = Number(process.argv[3] ?? 7)

async function waitForWarm(app: WorkerApp): Promise<void> {
  const rt = await app.supervisor.runtime(runtime)
  for (;;) {
    const idle = (await rt.list()).find((w) => w.running && w.sessionId === null)
    if (idle && (await rt.logs(idle.id)).includes('waiting for a claim')) return
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function main(): Promise<void> {
  if (runtime === 'docker' && !(await prepareDocker(console.log))) throw new Error('no docker')
  const app = await startWorkerApp(runtime, 1, 'claim-steps')
  const rt = await app.supervisor.runtime(runtime)
  // Debug records from the workers started from now on (a probe: the option is private).
  ;(rt as unknown as { options: { env?: Record<string, string> } }).options.env = { TETHER_WORKER_DEBUG: '1' }
  let claimStart = 0
  let claimEnd = 0
  const claim = rt.claim.bind(rt)
  rt.claim = async (...args) => {
    claimStart = Date.now()
    const info = await claim(...args)
    claimEnd = Date.now()
    return info
  }
  const rows: Record<string, number>[] = []
  try {
    for (let i = 0; i < samples + 2; i++) {
      await waitForPool(app, runtime, 1)
      await waitForWarm(app)
      const t0 = Date.now()
      const res = await fetch(`${app.url}/api/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ pattern: 'long-running', agent: { model: 'echo' } }),
      })
      const { session } = (await res.json()) as { session: { id: string } }
      const created = Date.now()
      const controller = new AbortController()
      const live = await stream<{ type?: string }>({
        url: `${app.url}/api/streams/sessions/${session.id}`,
        offset: '-1',
        live: 'sse',
        json: true,
        headers: { authorization: `Bearer ${app.adminToken}` },
        signal: controller.signal,
        warnOnHttp: false,
      })
      const seen = await new Promise<number>((resolve) =>
        live.subscribeJson((batch) => {
          if (batch.items.some((e) => e.type === 'agent-state')) resolve(Date.now())
        }),
      )
      controller.abort()
      const workerId = app.supervisor.workerOf(session.id)?.workerId ?? ''
      const logs = await rt.logs(workerId)
      const at = (msg: string) => {
        const line = logs.split('\n').find((l) => l.includes(`"msg":"${msg}"`))
        return line ? Date.parse((JSON.parse(line) as { time: string }).time) - t0 : Number.NaN
      }
      const field = (msg: string, key: string) => {
        const line = logs.split('\n').find((l) => l.includes(`"msg":"${msg}"`))
        return line ? Number((JSON.parse(line) as Record<string, unknown>)[key]) : Number.NaN
      }
      const row = {
        readerToCaughtUp: Math.round(field('caught up', 'ms')),
        created: created - t0,
        claimCalled: claimStart - t0,
        claimReturned: claimEnd - t0,
        claimRead: at('claim read'),
        caughtUp: at('caught up'),
        agentStarted: at('agent started'),
        seen: seen - t0,
      }
      if (i >= 2) rows.push(row) // the first claims warm caches (and the first pooled worker has no debug log)
      console.log(JSON.stringify(row))
      await fetch(`${app.url}/api/sessions/${session.id}/terminate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' },
        body: '{}',
      })
    }
  } finally {
    await app.close()
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
  console.log(`\n${runtime} warm claim, ms after POST /api/sessions (median of ${rows.length}):`)
  for (const key of Object.keys(rows[0] ?? {})) console.log(`  ${key.padEnd(14)} ${median(rows.map((r) => r[key] ?? Number.NaN))}`)
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
