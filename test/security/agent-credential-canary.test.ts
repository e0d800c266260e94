/**
 * Issue #11, bar 3: a canary credential set on a person's agent is used for that agent's model
 * calls (a fake Anthropic API, the named test double for the paid one, receives it as x-api-key)
 * and appears nowhere else: no API answer (agents, sessions, view, members, keys, me, audit), no
 * page, no server log line, no stream (the session's and the server's __tether streams, read as
 * admin), no process environment or argv on the machine (the worker's included), and the database
 * file holds only its ciphertext.
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { until } from '../app/support'
import { setupSignInApp } from '../support/oidc-sign-in'

const CANARY = `sk-ant-canary-${randomBytes(12).toString('hex')}`
const REPLY = 'Hello from the fake Anthropic API'

const app = setupSignInApp({
  fakeAnthropic: REPLY,
  // The server has no Anthropic key of its own: only the agent's credential can pay for the call.
  env: { TETHER_ADMIN_EMAILS: 'root@example.test', LOG_LEVEL: 'debug' },
})

/** Every process's environment and argv on this machine (we are root), for the canary. */
function processesHolding(needle: string): string[] {
  const hits: string[] = []
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    for (const file of ['environ', 'cmdline']) {
      try {
        if (readFileSync(join('/proc', pid, file)).includes(needle)) hits.push(`${pid}/${file}`)
      } catch {
        // gone, or a kernel thread
      }
    }
  }
  return hits
}

describe('a canary credential on a personal agent (issue #11, bar 3)', () => {
  it('pays for its agent’s calls and appears in no answer, page, log, stream, process or plaintext column', async () => {
    const alice = await app.signIn('alice')
    const root = await app.signIn('root')

    const made = await alice.post('/api/agents', { name: 'Canary agent', provider: 'anthropic', model: 'anthropic:claude-sonnet-4', credential: CANARY })
    expect(made.status()).toBe(201)
    const profile = ((await made.json()) as { agent: { id: string } }).agent
    const created = await alice.post('/api/sessions', { title: 'canary', pattern: 'long-running', agentProfileId: profile.id })
    expect(created.status()).toBe(201)
    const sid = ((await created.json()) as { session: { id: string } }).session.id
    expect((await alice.post(`/api/sessions/${sid}/messages`, { text: 'hello' })).status()).toBe(201)

    // The call really went out with the agent's credential, and its answer came back into the session.
    await alice.page.goto(`${app.server.url}/sessions/${sid}`)
    await until(alice.page, 'the fake provider called', () => app.fake.keys.length > 0, 120_000)
    expect(app.fake.keys).toContain(CANARY)
    await until(alice.page, 'the reply in the stream', async () => (await (await alice.get(`/api/streams/sessions/${sid}?offset=-1`)).text()).includes(REPLY), 120_000)

    const seen: Record<string, string> = {}
    const adminToken = app.server.token('admin')
    for (const path of ['/api/agents', `/api/agents/${profile.id}`, '/api/sessions', `/api/sessions/${sid}`, `/api/sessions/${sid}/view`, `/api/sessions/${sid}/agents`, `/api/sessions/${sid}/members`, '/api/keys', '/api/auth/me', `/api/streams/sessions/${sid}?offset=-1`]) {
      const res = await alice.get(path)
      expect(res.status(), path).toBeLessThan(400)
      seen[`alice ${path}`] = await res.text()
    }
    for (const path of ['/api/agents?all=1', `/api/agents/${profile.id}`, `/api/sessions/${sid}`]) seen[`root ${path}`] = await (await root.get(path)).text()
    for (const path of ['/api/audit', `/api/streams/sessions/${sid}?offset=-1`, '/api/streams/__tether/audit?offset=-1', '/api/streams/__tether/lifecycle?offset=-1', '/api/sessions/stats/summary']) {
      const res = await fetch(`${app.server.url}${path}`, { headers: { authorization: `Bearer ${await adminToken}` } })
      seen[`admin ${path}`] = await res.text()
    }
    expect(seen['admin /api/audit']).toContain('agent.create')
    // Pages, as the browser rendered them with their data (a live page never goes network-idle:
    // its stream stays open, so each waits for what it shows instead).
    const rendered: Array<[string, () => Promise<unknown>]> = [
      ['/', () => alice.page.locator('[data-testid="session-list"]').waitFor()],
      [`/sessions/${sid}`, () => alice.page.locator('[data-testid="connection"][data-state="live"]').waitFor().then(() => alice.page.getByText(REPLY).first().waitFor())],
      ['/agents', () => alice.page.getByText('Canary agent').first().waitFor()],
    ]
    for (const [path, shown] of rendered) {
      await alice.page.goto(`${app.server.url}${path}`)
      await shown()
      seen[`page ${path}`] = await alice.page.content()
    }
    for (const [where, text] of Object.entries(seen)) expect(text.includes(CANARY), where).toBe(false)
    expect(seen[`alice /api/agents/${profile.id}`]).toContain('"set":true')

    expect(app.server.output().includes(CANARY), 'server log').toBe(false)
    expect(processesHolding(CANARY)).toEqual([])

    const dbFile = join(app.server.dataDir, 'tether.db')
    for (const f of [dbFile, `${dbFile}-wal`]) {
      try {
        expect(readFileSync(f).includes(CANARY), f).toBe(false)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
    }
    const db = new Database(dbFile, { readonly: true, fileMustExist: true })
    try {
      const row = db.prepare('select credential_ciphertext, credential_iv, credential_tag from agent_profiles where id = ?').get(profile.id) as Record<string, string>
      expect(row.credential_ciphertext.length).toBeGreaterThan(0)
      expect(Buffer.from(row.credential_ciphertext, 'base64').includes(CANARY)).toBe(false)
    } finally {
      db.close()
    }
  }, 300_000)
})
