/**
 * Rate limits shared by nodes on one PostgreSQL database (issue 14): two nodes' checks count
 * against one budget in `rate_limits`, budgets stay per identity and class, and when the
 * database cannot be reached each node falls back to its own memory budget instead of failing
 * the request. A fresh database on the test cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres, type OpenedPostgres } from '../../../src/lib/db/postgres'
import { createRateLimits, type RateLimitConfig } from '../../../src/lib/ops/rate-limit'
import type { TokenClaims } from '../../../src/lib/sessions/tokens'
import { freshDatabase, type TestDatabase } from '../../support/postgres'

let db: TestDatabase
let pg: OpenedPostgres

beforeAll(async () => {
  db = await freshDatabase()
  pg = await openPostgres(db.url)
}, 60_000)

afterAll(async () => {
  await pg?.close()
  await db?.drop()
})

const config: RateLimitConfig = { windowSeconds: 60, sessions: 3, writes: 5, workers: 0 }
const person = (account: string) => ({ role: 'editor', sid: 's1', sub: account, account }) as unknown as TokenClaims

describe('rate limits shared on PostgreSQL', () => {
  it('two nodes count against one budget per person and class', async () => {
    const nodeA = createRateLimits(config, { db: pg.db })
    const nodeB = createRateLimits(config, { db: pg.db })
    const ann = person('ann')
    expect(await nodeA(ann, 'sessions')).toBeNull()
    expect(await nodeB(ann, 'sessions')).toBeNull()
    expect(await nodeA(ann, 'sessions')).toBeNull()
    const refused = await nodeB(ann, 'sessions')
    if (!refused) throw new Error('the fourth request of three allowed went through')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(((await refused.json()) as { reason: string }).reason).toBe('rate-limit:sessions')
    // Another person, and another class of the same person, have budgets of their own.
    expect(await nodeB(person('bob'), 'sessions')).toBeNull()
    expect(await nodeA(ann, 'writes')).toBeNull()
    const stored = await pg.sql<{ key: string; points: number }[]>`SELECT key, points FROM rate_limits ORDER BY key`
    expect(stored.find((r) => r.key.startsWith('sessions:') && r.key.includes('u:ann'))?.points).toBe(4)
  })

  it('falls back to a per-node memory budget while the database cannot be reached', async () => {
    const gone = await openPostgres(db.url)
    await gone.close()
    const node = createRateLimits(config, { db: gone.db })
    const cy = person('cy')
    for (let i = 0; i < 3; i++) expect(await node(cy, 'sessions')).toBeNull()
    expect((await node(cy, 'sessions'))?.status).toBe(429)
  })
})
