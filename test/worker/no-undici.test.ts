/**
 * Worker density (issue #13): a worker never loads undici, Node's fetch, on the paths every
 * worker runs (claim or start, session record, stream catch-up and live reads, heartbeats and
 * appends, model gateway steps). Loading it costs each worker ~12 MiB of RSS (a bare node is
 * 39 MiB, one that has fetched 52 MiB: specs/benchmarks.md); the worker talks to the server over
 * node:http instead (src/worker/http-fetch.ts). Checked by what the process itself loaded
 * (process.moduleLoadList), not by memory figures, so it cannot flake with the box's load.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleWorker } from '../../src/lib/workers/image/bundle'
import { ProcessRuntime } from '../../src/lib/workers/runtimes/process'
import { answerText, latestAgentState, startWorkerHarness, turnEnded, type WorkerHarness } from '../lib/workers/harness'

describe('the worker without undici', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-no-undici-'))
  const probe = join(dir, 'probe.cjs')
  let h: WorkerHarness

  beforeAll(async () => {
    const bundle = await bundleWorker()
    // The bundle, run behind a probe: on SIGUSR2 it writes the internal modules node has loaded
    // so far to `<pid>.loaded`, then the worker goes on as usual.
    writeFileSync(
      probe,
      // Written then renamed, so the test never reads a half-written list.
      `process.on('SIGUSR2', () => { const fs = require('node:fs'); const f = ${JSON.stringify(dir)} + '/' + process.pid + '.loaded'; fs.writeFileSync(f + '.tmp', JSON.stringify(process.moduleLoadList)); fs.renameSync(f + '.tmp', f) })
require(${JSON.stringify(bundle)})
`,
    )
    h = await startWorkerHarness({
      runtime: 'process',
      hooks: { runtimes: { process: new ProcessRuntime({ entry: probe, workRoot: join(dir, 'work') }) } },
    })
  })
  afterAll(async () => {
    await h?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function loadedBy(sessionId: string): Promise<string[]> {
    const runtime = await h.supervisor.runtime('process')
    const pid = Number((await runtime.inspect(h.supervisor.workerOf(sessionId)?.workerId ?? ''))?.nativeId)
    const out = join(dir, `${pid}.loaded`)
    rmSync(out, { force: true })
    process.kill(pid, 'SIGUSR2')
    // A hang guard, not a timing assertion: the probe answers within one turn of its event loop.
    for (let i = 0; i < 200 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 50))
    return JSON.parse(readFileSync(out, 'utf8')) as string[]
  }

  it('stays without it from start to idle, and through a turn answered by the model gateway', async () => {
    const id = await h.createSession()
    await h.waitFor(id, latestAgentState, 'the first agent-state')
    const idle = await loadedBy(id)
    // The probe itself saw node's own modules: the check reads a real list.
    expect(idle).toContain('NativeModule http')
    expect(idle.filter((m) => /undici/.test(m))).toEqual([])

    await h.postMessage(id, '/count 50')
    const events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1')
    expect(answerText(events, 1)).toBe(Array.from({ length: 50 }, (_, i) => String(i + 1)).join(' '))
    expect((await loadedBy(id)).filter((m) => /undici/.test(m))).toEqual([])
  })
})
