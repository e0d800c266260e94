/**
 * The workers' readiness checks (`GET /api/ready`): the process runtime answers with its worker
 * counts; a docker runtime whose Engine socket is not there fails with the reason, and the app's
 * /api/ready answers 503 naming it.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { loadSettings } from '../../../src/lib/settings'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import type { ReadinessReport } from '../../../src/lib/ops/readiness'
import { createWorkerCallbacks } from '../../../src/lib/workers/supervisor-wiring'

const apps: TetherServer[] = []
afterAll(async () => {
  for (const a of apps) await a.close()
})

function appWith(env: Record<string, string>): TetherServer {
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-ready-workers-'))
  const config = loadSettings({ TETHER_DATA_DIR: dataDir, ...env }).workers
  const app = createTetherServer(
    {
      dataDir,
      logger: pino({ level: 'silent' }),
      sweepIntervalMs: 0,
      sessions: { auth: true, monitorIntervalMs: 0, ephemeralRemoveAfterMs: 60_000, retentionDays: 30, maxEventBodyBytes: 1 << 20, defaultLimits: {} },
    },
    createWorkerCallbacks({ dataDir, config }),
  )
  apps.push(app)
  return app
}

async function ready(app: TetherServer): Promise<{ status: number; body: ReadinessReport }> {
  const res = await app.fetch(new Request('http://app/api/ready'))
  return { status: res.status, body: (await res.json()) as ReadinessReport }
}

describe('workers readiness', () => {
  it('reports the process runtime as answering, with what it runs', async () => {
    const { status, body } = await ready(appWith({ TETHER_WORKER_RUNTIME: 'process', TETHER_WARM_POOL_SIZE_PROCESS: '0' }))
    expect(status).toBe(200)
    const check = body.checks.find((c) => c.name === 'workers:process')
    expect(check).toMatchObject({ ok: true, detail: '0 serving, 0 warm' })
  })

  it('fails naming docker when the Engine socket is not there', async () => {
    const app = appWith({ TETHER_WORKER_RUNTIME: 'docker', TETHER_WARM_POOL_SIZE_DOCKER: '0', DOCKER_HOST: 'unix:///nonexistent/docker.sock' })
    const { status, body } = await ready(app)
    expect(status).toBe(503)
    const check = body.checks.find((c) => c.name === 'workers:docker')
    expect(check?.ok).toBe(false)
    expect(check?.detail).toMatch(/^the docker runtime is not available: /)
    expect(body.checks.filter((c) => c.name !== 'workers:docker').every((c) => c.ok)).toBe(true)
  })
})
