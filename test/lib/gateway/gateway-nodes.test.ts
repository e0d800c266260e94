/**
 * The session budget across app nodes (issue 14): two nodes opened by openTetherServer on one
 * fresh PostgreSQL database take a session's model calls at once, half each. The calls stream
 * slowly and their bodies are not read, so every call let through stays reserved at its worst
 * case while the others are checked: the reserved total must stay under the budget, however the
 * two nodes' checks interleave (the echo provider, priced at $1 per million tokens).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import { pgNodeSessions } from '../../support/app-config'
import { freshDatabase, type TestDatabase } from '../../support/postgres'

let db: TestDatabase
const dirs: string[] = []
const nodes: TetherServer[] = []

beforeAll(async () => {
  db = await freshDatabase()
  for (let i = 0; i < 2; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'tether-pg-gateway-'))
    dirs.push(dataDir)
    const app = await openTetherServer({
      dataDir,
      databaseUrl: db.url,
      logger: pino({ level: 'silent' }),
      sweepIntervalMs: 0,
      sessions: pgNodeSessions(),
    })
    nodes.push(app)
    await app.ready
  }
})

afterAll(async () => {
  for (const app of nodes) await app.close()
  await db?.drop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function call(app: TetherServer, path: string, token: string, json: unknown): Promise<Response> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  return app.fetch(new Request(`http://app${path}`, { method: 'POST', headers, body: JSON.stringify(json) }))
}

describe('the model gateway on two nodes', () => {
  it("never lets calls reserved on both nodes at once pass the session's budget", async () => {
    const [a, b] = nodes as [TetherServer, TetherServer]
    const budget = 0.01
    const admin = await a.issueToken({ role: 'admin' })
    const created = await call(a, '/api/sessions', admin, { pattern: 'long-running', agent: { model: 'echo' }, limits: { maxBudgetUsd: budget } })
    expect(created.status).toBe(201)
    const { session } = (await created.json()) as { session: { id: string } }
    const worker = await b.issueToken({ role: 'worker', sessionId: session.id, subject: 'agent' })
    // Each call's worst case is ~$0.001 (1,000 output tokens at most): about 10 fit in the budget.
    const step = { model: 'echo', system: '', messages: [{ role: 'user', content: [{ type: 'text', text: '/slow /count 1000' }] }], tools: [], maxTokens: 1000 }

    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i % 2 ? b : a, `/api/sessions/${session.id}/model`, worker, step)))
    const passed = answers.filter((r) => r.status === 200)
    // Refused: 402 budget, or 404 once the refusal ended the session.
    expect(answers.filter((r) => r.status !== 200).every((r) => r.status === 402 || r.status === 404)).toBe(true)

    const rows = await a.ledger.calls(session.id)
    const running = rows.filter((r) => r.status === 'running')
    const estimate = running[0]?.estimateUsd ?? 0
    expect(estimate).toBeGreaterThan(0.0009)
    expect(running).toHaveLength(passed.length)
    expect(running.reduce((sum, r) => sum + r.costUsd, 0)).toBeLessThanOrEqual(budget)
    // No call was settled yet, so the budget was full when the first refusal came.
    expect(passed.length).toBe(Math.floor(budget / estimate))

    for (const r of passed) await r.body?.cancel()
    await expect.poll(async () => (await b.ledger.calls(session.id)).filter((r) => r.status === 'running')).toEqual([])
  })
})
