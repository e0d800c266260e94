/**
 * The one-time login code contract on both stores: the file store (`<dataDir>/login-codes.json`,
 * a real temp dir) and the PostgreSQL table store (a fresh database on the test cluster). A code
 * redeems once, then says "used"; an unknown code and an expired one say so; a code a day past
 * expiry is forgotten at the next mint. Two stores on the same data (two nodes, each with its
 * own connection pool on PostgreSQL) racing to redeem one code: exactly one wins.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../../../src/lib/db/postgres'
import { pgLoginCodeStore } from '../../../src/lib/sessions/login-codes-pg'
import {
  EXPIRED_REASON,
  KEEP_AFTER_EXPIRY_MS,
  LOGIN_CODE_TTL_MS,
  loginCodeStore,
  type LoginCodeStore,
  UNKNOWN_REASON,
  USED_REASON,
} from '../../../src/lib/sessions/login-links'
import { freshDatabase } from '../../support/postgres'

const clock = { t: Date.UTC(2026, 10, 29, 12) }
const now = () => clock.t

interface Opened {
  /** A store as one node sees it; each call is another node on the same data. */
  node(): Promise<LoginCodeStore>
  close(): Promise<void>
}

const ENGINES: Record<'file' | 'postgres', () => Promise<Opened>> = {
  file: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-login-codes-'))
    return {
      node: async () => loginCodeStore(dir, now),
      close: async () => rmSync(dir, { recursive: true, force: true }),
    }
  },
  postgres: async () => {
    const fresh = await freshDatabase()
    const pools: Array<{ close(): Promise<void> }> = []
    return {
      async node() {
        const pg = await openPostgres(fresh.url, { max: 4 })
        pools.push(pg)
        return pgLoginCodeStore(pg.sql, now)
      },
      async close() {
        for (const p of pools) await p.close()
        await fresh.drop()
      },
    }
  },
}

describe.each(['file', 'postgres'] as const)('login codes in the %s store', (engine) => {
  let opened: Opened
  let a: LoginCodeStore
  let b: LoginCodeStore
  beforeAll(async () => {
    opened = await ENGINES[engine]()
    a = await opened.node()
    b = await opened.node()
  }, 120_000)
  afterAll(async () => {
    await opened?.close()
  })

  it('redeems a code once, on another node too, then says it was used', async () => {
    const { code, expiresAt } = await a.mint()
    expect(expiresAt).toBe(clock.t + LOGIN_CODE_TTL_MS)
    expect(code).toMatch(/^[\w-]{43}$/)
    expect(await b.redeem(code)).toEqual({ ok: true })
    expect(await a.redeem(code)).toEqual({ ok: false, reason: USED_REASON })
    expect(await b.redeem(code)).toEqual({ ok: false, reason: USED_REASON })
  })

  it('says unknown for a code never minted', async () => {
    expect(await a.redeem('not-a-code')).toEqual({ ok: false, reason: UNKNOWN_REASON })
  })

  it('says expired past the ttl, and forgets the code a day later at the next mint', async () => {
    const { code } = await a.mint(60_000)
    clock.t += 60_000
    expect(await b.redeem(code)).toEqual({ ok: false, reason: EXPIRED_REASON })
    clock.t += KEEP_AFTER_EXPIRY_MS
    const fresh = await b.mint()
    expect(await a.redeem(code)).toEqual({ ok: false, reason: UNKNOWN_REASON })
    expect(await a.redeem(fresh.code)).toEqual({ ok: true })
  })

  it('lets exactly one of many concurrent redeems on two nodes win', async () => {
    const { code } = await a.mint()
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).redeem(code)))
    expect(results.filter((r) => r.ok)).toHaveLength(1)
    expect(results.filter((r) => !r.ok && r.reason === USED_REASON)).toHaveLength(15)
  })
})
