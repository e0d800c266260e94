import { describe, expect, it } from 'vitest'
import { loadSettings } from '../../../src/lib/settings'

describe('loadSettings', () => {
  it('gives every section its default from an empty environment', () => {
    const s = loadSettings({})
    expect(s.server).toEqual({ port: 3000, host: '127.0.0.1', publicUrl: 'http://127.0.0.1:3000' })
    expect(s.streams).toEqual({
      dataDir: './data',
      durability: 'normal',
      databaseUrl: null,
      longPollTimeoutMs: 30_000,
      maxBodyBytes: 16 * 1024 * 1024,
      retentionDays: 30,
      defaultRetentionMs: 30 * 86_400_000,
      allowLoopbackWebhooks: false,
      sseMaxBufferBytes: 1024 * 1024,
      sseSlowGraceMs: 30_000,
    })
    expect(s.sessions).toMatchObject({
      auth: true,
      secret: undefined,
      streamsUrl: undefined,
      retentionDays: 30,
      maxEventBodyBytes: 1024 * 1024,
      monitorIntervalMs: 5_000,
      ephemeralRemoveAfterMs: 60_000,
      defaultLimits: {},
    })
    expect(s.workers).toEqual({
      enabled: true,
      runtime: 'process',
      warmPool: {},
      sandbox: 'bwrap',
      snapshots: { keep: 20, maxBytes: 256 * 1024 * 1024 },
    })
    expect(s.gateway.providerEnv).toEqual({})
    expect(s.logging.level).toBe('info')
  })

  it('takes a postgres:// TETHER_DATABASE_URL for the streams server and refuses any other URL with a reason', () => {
    expect(loadSettings({ TETHER_DATABASE_URL: 'postgres://tether@db:5432/tether' }).streams.databaseUrl).toBe(
      'postgres://tether@db:5432/tether',
    )
    expect(loadSettings({ TETHER_DATABASE_URL: 'postgresql://db/tether' }).streams.databaseUrl).toBe('postgresql://db/tether')
    expect(() => loadSettings({ TETHER_DATABASE_URL: 'mysql://db/tether' })).toThrow(/TETHER_DATABASE_URL.*postgres:\/\/ URL/s)
  })

  it('reads auth, external URL and limit overrides (0 = no limit)', () => {
    const c = loadSettings({
      TETHER_AUTH: 'off',
      TETHER_STREAMS_URL: 'http://127.0.0.1:4437/v1/stream/',
      TETHER_SESSION_MAX_IDLE_MS: '0',
      TETHER_SESSION_MAX_BUDGET_USD: '2.5',
      TETHER_MONITOR_INTERVAL_MS: '1000',
    }).sessions
    expect(c).toMatchObject({
      auth: false,
      streamsUrl: 'http://127.0.0.1:4437/v1/stream',
      monitorIntervalMs: 1000,
      defaultLimits: { maxIdleTimeMs: null, maxBudgetUsd: 2.5 },
    })
  })

  it('derives the public URL, retention and worker settings as the old per-area parsers did', () => {
    const s = loadSettings({
      PORT: '4000',
      HOST: '0.0.0.0',
      TETHER_RETENTION_DAYS: '0',
      TETHER_WORKER_RUNTIME: 'docker',
      TETHER_WARM_POOL_SIZE: '3',
      TETHER_WARM_POOL_SIZE_PROCESS: '1',
      TETHER_WORKER_MEMORY_MB: '256',
      TETHER_WORKER_CPUS: '0.5',
      TETHER_WORKER_NETWORK: 'egress',
      TETHER_SANDBOX: 'off',
      ANTHROPIC_API_KEY: 'k',
    })
    expect(s.server.publicUrl).toBe('http://0.0.0.0:4000')
    expect(s.streams.defaultRetentionMs).toBeNull()
    expect(s.workers).toMatchObject({
      runtime: 'docker',
      warmPool: { docker: 3, process: 1 },
      memoryBytes: 256 * 1024 * 1024,
      nanoCpus: 500_000_000,
      network: 'egress',
      sandbox: 'off',
    })
    expect(s.gateway.providerEnv).toEqual({ ANTHROPIC_API_KEY: 'k' })
    expect(loadSettings({ TETHER_PUBLIC_URL: 'https://tether.example/' }).server.publicUrl).toBe('https://tether.example')
  })

  it.each([
    [{ TETHER_AUTH: 'maybe' }, /TETHER_AUTH/],
    [{ TETHER_STREAMS_URL: 'not a url' }, /TETHER_STREAMS_URL/],
    [{ TETHER_SECRET: 'short' }, /TETHER_SECRET: must be at least 16 characters/],
    [{ TETHER_SESSION_MAX_TURNS: '-3' }, /TETHER_SESSION_MAX_TURNS/],
    [{ PORT: 'eighty' }, /PORT: must be a non-negative integer/],
    [{ TETHER_WORKER_RUNTIME: 'vm' }, /TETHER_WORKER_RUNTIME/],
    [{ TETHER_MODEL_PRICES: '{nope' }, /TETHER_MODEL_PRICES: not valid JSON/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ])('rejects %j at start-up, naming the variable', (env, message) => {
    expect(() => loadSettings(env)).toThrow(message)
  })

  it('never echoes a rejected value (it may be the secret)', () => {
    expect(() => loadSettings({ TETHER_SECRET: 'hunter2-short' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    )
  })
})
