/**
 * The PostgreSQL subscription host's cache and another node's change (issue 14): a node that has
 * heard of a change (NOTIFY) but not loaded it yet says its cache is stale, so the engine does not
 * skip an append on the strength of a cache that misses the new subscription (that lost a wake:
 * subscriptions-nodes.test.ts failed in CI once). Two hosts on one fresh database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres, type OpenedPostgres } from '../../../../src/lib/db/postgres'
import { pgSubscriptionHost, type PgSubscriptionHost } from '../../../../src/lib/streams/pg/pg-subscriptions'
import { newSubscription } from '../../../../src/lib/streams/subscriptions/links'
import type { SubscriptionConfig } from '../../../../src/lib/streams/subscriptions/types'
import { freshDatabase, type TestDatabase } from '../../../support/postgres'

const CONFIG: SubscriptionConfig = {
  type: 'pull-wake',
  pattern: null,
  streams: [],
  webhookUrl: null,
  wakeStream: 'wake/s1',
  leaseTtlMs: 30_000,
  description: null,
}

let db: TestDatabase
const opened: OpenedPostgres[] = []
const hosts: PgSubscriptionHost[] = []

beforeAll(async () => {
  db = await freshDatabase()
  for (let i = 0; i < 2; i++) {
    const pg = await openPostgres(db.url)
    opened.push(pg)
    const host = pgSubscriptionHost(pg)
    await host.listening
    hosts.push(host)
  }
}, 60_000)

afterAll(async () => {
  for (const h of hosts) await h.close()
  for (const pg of opened) await pg.close()
  await db?.drop()
})

describe('PostgreSQL subscription host', () => {
  it('says its cache is stale from hearing another node’s change until an operation has loaded it', async () => {
    const [a, b] = hosts as [PgSubscriptionHost, PgSubscriptionHost]
    await b.run({}, () => undefined)
    expect(b.stale?.()).toBe(false)
    const heard: { stale: boolean; cached: boolean }[] = []
    b.onRemoteChange(() => heard.push({ stale: b.stale?.() === true, cached: b.cached().has('s1') }))

    await a.run({}, (tx) => {
      const sub = newSubscription('s1', 'g1', CONFIG, 'hash', { callbackUrl: 'http://x/cb', jwksUrl: 'http://x/jwks' }, Date.now())
      tx.subs.set('s1', sub)
      tx.repo.saveAll(sub)
    })
    const until = Date.now() + 10_000
    while (heard.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
    // Heard, not loaded: the cache misses s1 and says so.
    expect(heard[0]).toEqual({ stale: true, cached: false })
    expect(b.stale?.()).toBe(true)
    // The next operation loads it.
    await b.run({}, () => undefined)
    expect(b.cached().has('s1')).toBe(true)
    expect(b.stale?.()).toBe(false)
    // Its own changes never make it stale.
    await b.run({}, (tx) => {
      const s1 = tx.subs.get('s1')
      if (s1) tx.repo.saveState(s1)
    })
    expect(b.stale?.()).toBe(false)
  })
})
