/**
 * The model gateway's wire formats (issue #11): milliseconds for one whole echo call ("hi" →
 * "Echo: hi", read to the end) over loopback HTTP, through `POST …/model` (NDJSON, what Tether's
 * own worker uses), the native Anthropic and OpenAI endpoints (SSE), and the native Anthropic
 * endpoint through the worker's model proxy (one more loopback hop). Each call is also a ledger
 * reservation and settlement in SQLite. One in-process app with a real SQLite file; median of
 * the calls, alternating paths so a busy shared machine hits them alike.
 *
 *   npm run bench -- --only gateway-native [--quick]
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { createTetherServer } from '../../src/lib/tether-server'
import { startModelProxy } from '../../src/worker/model-proxy'
import { serveOnLoopback } from '../serve-app'
import { median, now } from '../stats'
import type { Scenario } from './types'

const PATHS = ['ndjson', 'anthropic', 'openai', 'proxy'] as const

export const gatewayNative: Scenario = {
  id: 'gateway-native',
  title: 'model gateway: one echo call per wire format (ms, loopback, median)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'ndjson', label: 'POST …/model (NDJSON)', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'anthropic', label: 'native Anthropic (SSE)', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'openai', label: 'native OpenAI (SSE)', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'proxy', label: 'native Anthropic via worker proxy', unit: 'ms', better: 'lower', digits: 2 },
  ],
  async run({ quick, log }) {
    const app = createTetherServer({
      dataDir: mkdtempSync(join(tmpdir(), 'tether-bench-gateway-native-')),
      logger: pino({ level: 'silent' }),
      sessions: { auth: true, secret: 'bench-secret-for-gateway-native-01', monitorIntervalMs: 0, ephemeralRemoveAfterMs: 60_000, retentionDays: 1, maxEventBodyBytes: 1 << 20, defaultLimits: {} },
    })
    const server = await serveOnLoopback((req) => app.fetch(req))
    await app.ready
    const url = server.origin
    const admin = await app.issueToken({ role: 'admin', subject: 'bench' })
    const created = await fetch(`${url}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pattern: 'long-running', agent: { model: 'echo' } }),
    })
    const id = ((await created.json()) as { session: { id: string } }).session.id
    const token = await app.issueToken({ role: 'worker', sessionId: id, subject: 'agent' })
    const proxy = await startModelProxy({ serverUrl: url, sessionId: id, token })
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const anthropicBody = JSON.stringify({ model: 'x', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const calls: Record<(typeof PATHS)[number], () => Promise<Response>> = {
      ndjson: () =>
        fetch(`${url}/api/sessions/${id}/model`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ model: 'echo', system: '', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [], maxTokens: 64 }),
        }),
      anthropic: () => fetch(`${url}/api/sessions/${id}/model/anthropic/v1/messages`, { method: 'POST', headers: auth, body: anthropicBody }),
      openai: () =>
        fetch(`${url}/api/sessions/${id}/model/openai/v1/chat/completions`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ model: 'x', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
        }),
      proxy: () => fetch(`${proxy.anthropic}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: anthropicBody }),
    }
    const samples: Record<string, number[]> = { ndjson: [], anthropic: [], openai: [], proxy: [] }
    const n = quick ? 30 : 200
    try {
      for (let i = 0; i < n + 5; i++) {
        for (const path of PATHS) {
          const t0 = now()
          const res = await calls[path]()
          const text = await res.text()
          const ms = now() - t0
          if (res.status !== 200 || !text.includes('Echo') || !text.includes('hi')) throw new Error(`${path}: ${res.status} ${text.slice(0, 200)}`)
          if (i >= 5) samples[path]!.push(ms) // the first calls warm up the JIT and the connections
        }
      }
      log(`${n} calls per path; ledger rows: ${app.ledger.calls(id).length}`)
      return Object.fromEntries(PATHS.map((p) => [p, median(samples[p]!)]))
    } finally {
      await proxy.close()
      await server.close()
      await app.close()
    }
  },
}
