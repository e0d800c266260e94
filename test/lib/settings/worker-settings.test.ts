import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadWorkerSettings, WORKER_VARIABLES } from '../../../src/lib/settings/worker-settings'

describe('loadWorkerSettings', () => {
  it('gives the defaults the worker program had: cwd, /api/streams, 3 s heartbeat, no identity', () => {
    expect(loadWorkerSettings({}, '/work/here')).toEqual({
      settings: { workDir: '/work/here', streamsPath: '/api/streams', heartbeatMs: 3_000 },
      identity: null,
      warm: false,
      exitWithStdin: false,
      debug: false,
    })
  })

  it('reads identity, warm mode, socket, sandbox and heartbeat', () => {
    const s = loadWorkerSettings({
      TETHER_SESSION_ID: 's1',
      TETHER_SERVER_URL: 'http://127.0.0.1:3000',
      TETHER_WORKER_TOKEN: 't',
      TETHER_WARM: '1',
      TETHER_EXIT_WITH_STDIN: '1',
      TETHER_SERVER_SOCKET: '/run/tether.sock',
      TETHER_SANDBOX: 'setuid:1000:1000',
      TETHER_HEARTBEAT_MS: '500',
      TETHER_WORK_DIR: '/w',
    })
    expect(s).toMatchObject({
      identity: { sessionId: 's1', serverUrl: 'http://127.0.0.1:3000', token: 't' },
      warm: true,
      exitWithStdin: true,
      serverSocket: '/run/tether.sock',
      sandbox: 'setuid:1000:1000',
      settings: { workDir: '/w', heartbeatMs: 500 },
    })
    // Half an identity is none: a warm worker waits for its claim instead.
    expect(loadWorkerSettings({ TETHER_SESSION_ID: 's1' }).identity).toBeNull()
    expect(loadWorkerSettings({ TETHER_HEARTBEAT_MS: 'soon' }).settings.heartbeatMs).toBe(3_000)
  })

  it('reads only the variables its list documents', () => {
    const source = readFileSync(resolve(import.meta.dirname, '../../../src/lib/settings/worker-settings.ts'), 'utf8')
    const read = new Set([...source.matchAll(/env\.(\w+)/g)].map((m) => m[1]))
    expect([...read].sort()).toEqual(Object.keys(WORKER_VARIABLES).sort())
  })

  it('stays free of zod (it is bundled into the worker)', () => {
    const source = readFileSync(resolve(import.meta.dirname, '../../../src/lib/settings/worker-settings.ts'), 'utf8')
    expect(source).not.toMatch(/from ['"]zod/)
    expect(source).not.toMatch(/^import (?!type )/m)
  })
})
