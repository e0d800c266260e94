/**
 * `GET /metrics` through the production build (src/app/routes/metrics.ts → the app): the
 * scraper token and an admin token get the Prometheus text; no token 401, a session's viewer 403.
 * The full role matrix and the counters are in metrics.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken, secretFromString } from '../../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../../support/production-server'

const SECRET = 'metrics-route-secret-0123456789abcdef'
const METRICS_TOKEN = 'metrics-route-scraper-0123456789'
let server: ProductionServer

beforeAll(async () => {
  server = await startProductionServer({
    TETHER_SECRET: SECRET,
    TETHER_METRICS_TOKEN: METRICS_TOKEN,
    TETHER_WORKERS: 'off',
    TETHER_MONITOR_INTERVAL_MS: '0',
  })
}, 180_000)
afterAll(() => server?.dispose())

const get = (authorization?: string) => fetch(`${server.url}/metrics`, { headers: authorization ? { authorization } : {} })

describe('GET /metrics in the production build', () => {
  it('serves the Prometheus text format to the scraper token and to admins only', async () => {
    const scraped = await get(`Bearer ${METRICS_TOKEN}`)
    expect(scraped.status).toBe(200)
    expect(scraped.headers.get('content-type')).toContain('text/plain; version=0.0.4')
    const text = await scraped.text()
    expect(text).toContain('# TYPE tether_http_requests_total counter')
    expect(text).toMatch(/^tether_process_resident_memory_bytes \d+/m)
    const admin = await issueToken(secretFromString(SECRET), { role: 'admin', subject: 'ops' })
    expect((await get(`Bearer ${admin}`)).status).toBe(200)
    expect((await get()).status).toBe(401)
    const viewer = await issueToken(secretFromString(SECRET), { role: 'viewer', sessionId: 's_none' })
    expect((await get(`Bearer ${viewer}`)).status).toBe(403)
  })
})
