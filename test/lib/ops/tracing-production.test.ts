/**
 * Traces and request ids in the production build (src/server/main.ts on dist/): the endpoint
 * setting alone turns traces on (the SDK loads by dynamic import from the bundle), spans reach a
 * real OTLP/HTTP receiver on loopback, and the server's JSON log lines carry the request id.
 */
import { execFileSync } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProductionServer, type ProductionServer } from '../../support/production-server'

const root = resolve(import.meta.dirname, '../../..')

describe('traces in the production server', () => {
  let server: ProductionServer
  let receiver: Server
  const names: Array<{ name: string; requestId: unknown }> = []

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c.toString()
      })
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          const doc = JSON.parse(body) as {
            resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; attributes: Array<{ key: string; value: { stringValue?: string } }> }> }> }>
          }
          for (const rs of doc.resourceSpans)
            for (const ss of rs.scopeSpans)
              for (const s of ss.spans) names.push({ name: s.name, requestId: s.attributes.find((a) => a.key === 'tether.request_id')?.value.stringValue })
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
    const { port } = receiver.address() as { port: number }
    server = await startProductionServer({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, TETHER_WORKERS: 'off', LOG_LEVEL: 'info' })
  }, 300_000)

  afterAll(async () => {
    await server?.dispose()
    await new Promise((r) => receiver?.close(r))
  })

  it('exports the request spans and logs the request id', async () => {
    const token = execFileSync(process.execPath, ['--import', 'tsx', 'src/server/cli.ts', 'token', '--role', 'admin'], {
      cwd: root,
      env: { ...process.env, TETHER_DATA_DIR: server.dataDir },
    })
      .toString()
      .trim()
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const created = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { ...headers, 'x-request-id': 'prod-create-1' },
      body: JSON.stringify({ pattern: 'long-running', agent: { model: 'echo' } }),
    })
    expect(created.status).toBe(201)
    expect(created.headers.get('x-request-id')).toBe('prod-create-1')
    const id = ((await created.json()) as { session: { id: string } }).session.id
    const posted = await fetch(`${server.url}/api/sessions/${id}/messages`, {
      method: 'POST',
      headers: { ...headers, 'x-request-id': 'prod-msg-1' },
      body: JSON.stringify({ text: 'hi' }),
    })
    expect(posted.status).toBeLessThan(300)
    // The batch exporter sends every few seconds: poll (a hang guard, not a timing assertion).
    await expect
      .poll(() => names.some((n) => n.name === 'HTTP POST /api/sessions/*' && n.requestId === 'prod-msg-1'), { timeout: 60_000, interval: 200 })
      .toBe(true)
    await expect.poll(() => names.some((n) => n.name === 'sqlite.commit'), { timeout: 30_000 }).toBe(true)
    const accepted = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'turn accepted')
    expect(accepted).toMatchObject({ requestId: 'prod-msg-1', sessionId: id, turn: 1 })
  })
})
