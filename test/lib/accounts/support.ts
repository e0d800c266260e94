/**
 * An app with sign-in on (in process, a real SQLite file in a temp dir) and a real OpenID provider
 * on loopback, and a small browser: a cookie jar per origin and redirects followed by hand, so a
 * test sees every hop (the app's answers go through app.fetch, the provider's over HTTP).
 */
import { testSessionsConfig } from '../../support/app-config'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { expect } from 'vitest'
import type { AccountsConfig } from '../../../src/lib/accounts'
import type { SessionsConfig } from '../../../src/lib/settings'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import { startIdentityProvider, type TestIdentityProvider, type TestPerson } from './identity-provider'

export const APP = 'http://tether.test'

export const PEOPLE: Record<string, TestPerson> = {
  alice: { name: 'Alice Example', email: 'alice@example.test' },
  bob: { name: 'Bob Example', email: 'bob@example.test' },
  carol: { name: 'Carol Example', email: 'carol@example.test' },
  root: { name: 'Root Admin', email: 'root@example.test' },
  unverified: { name: 'Not Root', email: 'root2@example.test', emailVerified: false },
}

const sessionsConfig: SessionsConfig = testSessionsConfig({ publicUrl: APP })

export interface AccountsHarness {
  app: TetherServer
  idp: TestIdentityProvider
  adminToken: string
  close(): Promise<void>
}

export async function startAccounts(over: Partial<AccountsConfig> = {}): Promise<AccountsHarness> {
  const idp = await startIdentityProvider({ redirectUris: [`${APP}/api/auth/callback`], people: PEOPLE })
  const app = createTetherServer({
    dataDir: mkdtempSync(join(tmpdir(), 'tether-accounts-')),
    sessions: sessionsConfig,
    publicUrl: APP,
    logger: pino({ level: 'silent' }),
    sweepIntervalMs: 0,
    accounts: {
      providers: { oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret } },
      adminEmails: ['root@example.test', 'root2@example.test'],
      signInTtlMs: 86_400_000,
      ...over,
    },
  })
  const adminToken = await app.issueToken({ role: 'admin' })
  return {
    app,
    idp,
    adminToken,
    async close() {
      await app.close()
      await idp.close()
    },
  }
}

/** One browser: cookies per origin (name=value only; attributes are checked by the tests that care). */
export class TestBrowser {
  readonly jar = new Map<string, Map<string, string>>()
  /** Every Set-Cookie the app sent, as sent. */
  readonly appSetCookies: string[] = []

  constructor(private readonly app: TetherServer) {}

  cookieHeader(origin: string): string {
    return [...(this.jar.get(origin) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  private keep(origin: string, res: Response) {
    const jar = this.jar.get(origin) ?? new Map<string, string>()
    this.jar.set(origin, jar)
    for (const c of res.headers.getSetCookie()) {
      if (origin === APP) this.appSetCookies.push(c)
      const [pair, ...attrs] = c.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      if (value === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) jar.delete(name)
      else jar.set(name, value)
    }
  }

  /** One request as this browser (same-origin Origin on unsafe methods, like a page's fetch). */
  async request(url: string, init: { method?: string; json?: unknown; headers?: Record<string, string>; origin?: string | null } = {}): Promise<Response> {
    const u = new URL(url, APP)
    const method = init.method ?? (init.json !== undefined ? 'POST' : 'GET')
    const headers = new Headers(init.headers)
    const cookies = this.cookieHeader(u.origin)
    if (cookies) headers.set('cookie', cookies)
    if (init.json !== undefined) headers.set('content-type', 'application/json')
    const origin = init.origin === undefined ? (method === 'GET' || method === 'HEAD' ? null : u.origin) : init.origin
    if (origin) headers.set('origin', origin)
    const req = new Request(u, { method, headers, redirect: 'manual', ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) })
    const res = u.origin === APP ? await this.app.fetch(req) : await fetch(req)
    this.keep(u.origin, res)
    return res
  }

  /** GET `url` and follow redirects; the last answer and the URLs visited. */
  async navigate(url: string): Promise<{ res: Response; visited: string[] }> {
    const visited: string[] = []
    let current = new URL(url, APP).href
    for (let hop = 0; hop < 20; hop++) {
      visited.push(current)
      const res = await this.request(current)
      const location = res.headers.get('location')
      if (res.status < 300 || res.status >= 400 || !location) return { res, visited }
      current = new URL(location, current).href
    }
    throw new Error(`too many redirects: ${visited.join(' → ')}`)
  }
}

/** Signs `who` in through the provider in a new browser; its cookie jar then holds the sign-in. */
export async function signIn(h: AccountsHarness, who: string, returnTo = '/sessions'): Promise<TestBrowser> {
  const browser = new TestBrowser(h.app)
  h.idp.signInAs(who)
  const { res, visited } = await browser.navigate(`/api/auth/login?provider=oidc&returnTo=${encodeURIComponent(returnTo)}`)
  expect(visited.at(-1), `sign-in of ${who} ended at ${visited.at(-1)} (${res.status}: ${await res.clone().text()})`).toBe(`${APP}${returnTo}`)
  return browser
}

export async function body<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T
}
