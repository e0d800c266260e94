/**
 * The production server the gateway security tests (gateway-native, gateway-agents) start: no
 * workers (a refusal must come from the gateway, not from a worker that happens to run), no
 * monitor, and a secret known to the test so it can sign a token of any role.
 */
import { afterAll, beforeAll, expect } from 'vitest'
import { issueToken, secretFromString, type IssueTokenOptions } from '../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../support/production-server'

export interface GatewayServer {
  /** Read in tests only: the server starts in beforeAll. */
  readonly url: string
  /** An admin token (subject admin-user). */
  readonly admin: string
  token(opts: IssueTokenOptions): Promise<string>
  /** A long-running session with these agents, made by the admin; its id. */
  newSession(agents: unknown[]): Promise<string>
}

/** Starts the server before the file's tests and disposes it after (registers vitest's beforeAll/afterAll). */
export function setupGatewayServer(secret: string): GatewayServer {
  const token = (opts: IssueTokenOptions) => issueToken(secretFromString(secret), opts)
  let server: ProductionServer | undefined
  let admin = ''
  beforeAll(async () => {
    server = await startProductionServer({ TETHER_SECRET: secret, TETHER_WORKERS: 'off', TETHER_MONITOR_INTERVAL_MS: '0' })
    admin = await token({ role: 'admin', subject: 'admin-user' })
  }, 180_000)
  afterAll(() => server?.dispose())
  const url = () => {
    if (!server) throw new Error('the gateway test server is not started (read it inside a test)')
    return server.url
  }
  return {
    get url() {
      return url()
    },
    get admin() {
      return admin
    },
    token,
    async newSession(agents) {
      const res = await fetch(`${url()}/api/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ pattern: 'long-running', agents }),
      })
      expect(res.status).toBe(201)
      return ((await res.json()) as { session: { id: string } }).session.id
    },
  }
}
