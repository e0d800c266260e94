/**
 * The session row's usage on the write path (SessionStore.noteUsage, real SQLite file): counters
 * are written at once, the activity time only when it moved a second or more, so a stream of
 * chunks does not turn each append into two commits; updateUsage (monitor, refresh) stays exact.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type OpenedDatabase } from '../../../src/lib/db/connection'
import { ACTIVITY_RESOLUTION_MS, SessionStore } from '../../../src/lib/sessions/session-store'

let dir: string
let db: OpenedDatabase
let store: SessionStore
const T0 = Date.UTC(2026, 10, 29, 12)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-usage-'))
  db = openDatabase({ file: join(dir, 'tether.db') })
  store = new SessionStore(db.db)
  store.insert({
    id: 's_usage',
    pattern: 'long-running',
    title: null,
    agent: { model: 'echo' },
    limits: { maxIdleTimeMs: null, maxLifetimeMs: null, maxBudgetUsd: null, maxTurns: null },
    metadata: {},
    createdBy: null,
    now: T0,
  })
})
afterAll(() => {
  db?.close()
  rmSync(dir, { recursive: true, force: true })
})

const usage = (turns: number, lastActivityAt: number) => ({ tokensIn: turns * 10, tokensOut: turns * 5, costUsd: 0, turns, lastActivityAt })
const stored = () => store.get('s_usage')!.usage

describe('session usage on the write path', () => {
  it('writes counters at once and the activity time only when it moved a second or more', () => {
    store.noteUsage('s_usage', usage(1, T0 + 100))
    expect(stored()).toMatchObject({ turns: 1, lastActivityAt: T0 + 100 })
    // Chunks within the second: not written.
    store.noteUsage('s_usage', usage(1, T0 + 400))
    store.noteUsage('s_usage', usage(1, T0 + 100 + ACTIVITY_RESOLUTION_MS - 1))
    expect(stored().lastActivityAt).toBe(T0 + 100)
    // A second later: written.
    store.noteUsage('s_usage', usage(1, T0 + 100 + ACTIVITY_RESOLUTION_MS))
    expect(stored().lastActivityAt).toBe(T0 + 100 + ACTIVITY_RESOLUTION_MS)
    // A counter change is written at once, with the activity time it came with.
    store.noteUsage('s_usage', usage(2, T0 + 100 + ACTIVITY_RESOLUTION_MS + 5))
    expect(stored()).toMatchObject({ turns: 2, tokensIn: 20, lastActivityAt: T0 + 100 + ACTIVITY_RESOLUTION_MS + 5 })
  })

  it('updateUsage writes the exact activity time (the monitor and refresh)', () => {
    const at = stored().lastActivityAt! + 1
    store.updateUsage('s_usage', usage(2, at))
    expect(stored().lastActivityAt).toBe(at)
  })
})
