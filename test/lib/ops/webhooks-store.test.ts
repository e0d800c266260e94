/**
 * The WebhookStore contract, run against both implementations: SQLite (a real file in a temp dir,
 * webhooks-store.ts) and PostgreSQL (a fresh database on the test cluster, webhooks-store-pg.ts).
 * Endpoints, cursors, and the delivery log with its per-endpoint trim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KEEP_DELIVERIES, SqliteWebhookStore, type WebhookStore } from '../../../src/lib/ops/webhooks-store'
import { PgWebhookStore } from '../../../src/lib/ops/webhooks-store-pg'
import { bothEngines } from '../../support/engines'

interface Opened {
  store: WebhookStore
  close(): Promise<void>
}

let clock = Date.UTC(2026, 10, 29, 12)
const now = () => clock

const ENGINES = bothEngines<Omit<Opened, 'close'>>({
  sqlite: (db) => ({ store: new SqliteWebhookStore(db.db, now) }),
  postgres: (pg) => ({ store: new PgWebhookStore(pg.db, now) }),
})

const endpoint = (url: string) => ({ url, events: ['session.created' as const], description: 'd', createdBy: 'u_admin', cursorOffset: '0_0' })
const attempt = (endpointId: string, eventId: string, n: number) => ({
  endpointId,
  eventId,
  eventType: 'session.created',
  attempt: n,
  status: n === 1 ? 500 : 200,
  outcome: n === 1 ? ('retrying' as const) : ('delivered' as const),
  error: n === 1 ? 'receiver answered 500' : null,
})

describe.each(Object.keys(ENGINES))('WebhookStore on %s', (engine) => {
  let opened: Opened
  let store: WebhookStore
  beforeAll(async () => {
    opened = await ENGINES[engine]!()
    store = opened.store
  })
  afterAll(async () => {
    await opened?.close()
  })

  it('keeps endpoints with their event filter, lists them oldest first, and forgets a removed one with its log', async () => {
    const a = await store.insert(endpoint('https://a.example/hook'))
    clock += 1
    const b = await store.insert(endpoint('https://b.example/hook'))
    expect(a.id).toMatch(/^wh_/)
    expect(await store.get(a.id)).toEqual({ ...a, events: ['session.created'], cursorSkip: 0, createdAt: a.createdAt })
    expect((await store.list()).map((w) => w.id)).toEqual([a.id, b.id])
    await store.logAttempt(attempt(b.id, 'ev1', 1))
    expect(await store.remove(b.id)).toBe(true)
    expect(await store.remove(b.id)).toBe(false)
    expect(await store.get(b.id)).toBeNull()
    expect(await store.deliveries(b.id)).toEqual([])
    expect((await store.list()).map((w) => w.id)).toEqual([a.id])
  })

  it('moves an endpoint cursor', async () => {
    const w = await store.insert(endpoint('https://c.example/hook'))
    await store.setCursor(w.id, '12_34', 3)
    expect(await store.get(w.id)).toMatchObject({ cursorOffset: '12_34', cursorSkip: 3 })
  })

  it('logs attempts newest first and answers the highest attempt of an event', async () => {
    const w = await store.insert(endpoint('https://d.example/hook'))
    expect(await store.lastAttempt(w.id, 'ev1')).toBeNull()
    const first = await store.logAttempt(attempt(w.id, 'ev1', 1))
    const second = await store.logAttempt(attempt(w.id, 'ev1', 2))
    expect(first).toMatchObject({ eventId: 'ev1', attempt: 1, status: 500, outcome: 'retrying', error: 'receiver answered 500', at: clock })
    expect(first).not.toHaveProperty('endpointId')
    expect(second.id).toBeGreaterThan(first.id)
    expect(await store.deliveries(w.id)).toEqual([second, first])
    expect(await store.deliveries(w.id, 1)).toEqual([second])
    expect(await store.lastAttempt(w.id, 'ev1')).toEqual({ attempt: 2, eventType: 'session.created' })
    expect(await store.lastAttempt(w.id, 'other')).toBeNull()
  })

  it(`keeps at most ${KEEP_DELIVERIES} log rows per endpoint`, async () => {
    const w = await store.insert(endpoint('https://e.example/hook'))
    // Ten at a time keeps PostgreSQL's thousand round trips short; the newest KEEP_DELIVERIES by
    // id must stay whatever order the ten commit in.
    const logged: number[] = []
    for (let i = 0; i < KEEP_DELIVERIES + 10; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => store.logAttempt(attempt(w.id, `ev${i + j}`, 2))))
      logged.push(...batch.map((d) => d.id))
    }
    const kept = await store.deliveries(w.id, KEEP_DELIVERIES + 20)
    expect(kept.map((d) => d.id)).toEqual(logged.sort((x, y) => y - x).slice(0, KEEP_DELIVERIES))
  })
})
