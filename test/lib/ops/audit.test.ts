/**
 * The audit log (issue #12): each listed action leaves one entry in `__tether/audit` naming the
 * actor (token subject and role), with no token, code or secret anywhere in the stream; only
 * admins read it.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import type { AuditEntry } from '../../../src/lib/ops/audit'

let app: TetherServer
let admin: string
const secrets: string[] = []

beforeAll(async () => {
  app = createTetherServer({
    dataDir: mkdtempSync(join(tmpdir(), 'tether-audit-')),
    logger: pino({ level: 'silent' }),
    sweepIntervalMs: 0,
    allowLoopbackWebhooks: true,
    sessions: { auth: true, monitorIntervalMs: 0, ephemeralRemoveAfterMs: 60_000, retentionDays: 30, maxEventBodyBytes: 1 << 20, defaultLimits: {} },
  })
  admin = await app.issueToken({ role: 'admin', subject: 'alice' })
  secrets.push(admin)
})
afterAll(() => app.close())

async function call(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (init.token !== null) headers.set('authorization', `Bearer ${init.token ?? admin}`)
  if (init.body) headers.set('content-type', 'application/json')
  return app.fetch(new Request(`http://app${path}`, { ...init, headers }))
}

async function entries(): Promise<AuditEntry[]> {
  const res = await call('/api/audit?after=-1')
  expect(res.status).toBe(200)
  return ((await res.json()) as { entries: AuditEntry[] }).entries
}

describe('audit log', () => {
  it('records each admin and security-relevant action once, with its actor, and no secret', async () => {
    const { code } = await app.loginCodes.mint()
    secrets.push(code)
    const signIn = await call('/api/auth/exchange', { token: null, method: 'POST', body: JSON.stringify({ code }) })
    expect(signIn.status).toBe(200)
    secrets.push(((await signIn.json()) as { token: string }).token)
    expect((await call('/api/auth/exchange', { token: null, method: 'POST', body: JSON.stringify({ code }) })).status).toBe(401)

    const created = (await (await call('/api/sessions', { method: 'POST', body: JSON.stringify({ pattern: 'long-running' }) })).json()) as {
      session: { id: string }
      shareToken: string
    }
    const id = created.session.id
    secrets.push(created.shareToken)
    const share = (await (await call(`/api/sessions/${id}/share`)).json()) as { shareToken: string }
    secrets.push(share.shareToken)
    const join = await call(`/api/sessions/${id}/join`, { token: share.shareToken, method: 'POST', body: JSON.stringify({ displayName: 'Bob' }) })
    expect(join.status).toBe(201)
    const joined = (await join.json()) as { token: string; userId: string }
    secrets.push(joined.token)
    expect((await call(`/api/sessions/${id}`, { method: 'PATCH', body: JSON.stringify({ limits: { maxTurns: 7 } }) })).status).toBe(200)
    expect((await call(`/api/sessions/${id}/terminate`, { token: joined.token, method: 'POST', body: '{}' })).status).toBe(403)
    expect((await call(`/api/sessions/${id}/terminate`, { method: 'POST', body: '{}' })).status).toBe(200)
    expect((await call(`/api/sessions/${id}`, { method: 'DELETE' })).status).toBe(204)
    const hook = await call('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: 'http://127.0.0.1:9/x' }) })
    const hookId = ((await hook.json()) as { webhook: { id: string } }).webhook.id
    expect((await call(`/api/webhooks/${hookId}`, { method: 'DELETE' })).status).toBe(204)

    const log = await entries()
    const brief = log.map((e) => [e.action, e.actor.sub, e.actor.role, e.target, e.outcome])
    expect(brief).toEqual([
      ['auth.sign-in', 'local-admin', 'admin', null, 'ok'],
      ['auth.sign-in', null, null, null, 'denied'],
      ['session.create', 'alice', 'admin', id, 'ok'],
      ['share.create', 'alice', 'admin', id, 'ok'],
      ['session.join', null, 'collaborator', id, 'ok'],
      ['quota.change', 'alice', 'admin', id, 'ok'],
      ['session.terminate', joined.userId, 'collaborator', id, 'denied'],
      ['session.terminate', 'alice', 'admin', id, 'ok'],
      ['session.delete', 'alice', 'admin', id, 'ok'],
      ['webhook.create', 'alice', 'admin', hookId, 'ok'],
      ['webhook.delete', 'alice', 'admin', hookId, 'ok'],
    ])
    expect(log.find((e) => e.action === 'quota.change')?.detail).toEqual({ fields: ['limits'], limits: { maxTurns: 7 } })
    for (const e of log) expect(typeof e.time).toBe('number')

    const raw = await (await call('/api/streams/__tether/audit?offset=-1')).text()
    expect(raw.length).toBeGreaterThan(100)
    for (const s of secrets) expect(raw).not.toContain(s)
  })

  it('is readable by admins only and refuses a bad offset', async () => {
    const { id } = ((await (await call('/api/sessions', { method: 'POST', body: JSON.stringify({ pattern: 'long-running' }) })).json()) as { session: { id: string } }).session
    for (const role of ['viewer', 'collaborator', 'worker'] as const) {
      const token = await app.issueToken({ role, sessionId: id, subject: 'u1' })
      expect((await call('/api/audit', { token })).status).toBe(403)
      expect((await call('/api/streams/__tether/audit?offset=-1', { token })).status).toBe(403)
    }
    expect((await call('/api/audit', { token: null })).status).toBe(401)
    expect((await call('/api/audit?after=../x')).status).toBe(400)
    const all = (await (await call('/api/audit')).json()) as { entries: AuditEntry[]; nextOffset: string }
    const after = (await (await call(`/api/audit?after=${all.nextOffset}`)).json()) as { entries: AuditEntry[] }
    expect(after.entries).toEqual([])
  })

  it('cannot be rewritten through the protocol, not even by an admin', async () => {
    const before = await entries()
    expect(before.length).toBeGreaterThan(0)
    for (const path of ['/api/streams/__tether/audit', '/v1/stream/__tether/audit', '/api/streams/__tether/lifecycle']) {
      const append = await call(path, { method: 'POST', body: JSON.stringify([{ action: 'forged' }]) })
      expect(append.status, path).toBe(403)
      expect(await append.text()).toMatch(/role admin may not append to __tether\//)
      expect((await call(path, { method: 'DELETE' })).status, path).toBe(403)
      expect((await call(path, { method: 'POST', headers: { 'stream-closed': 'true' } })).status, path).toBe(403)
    }
    expect((await call('/api/streams/__tether/other', { method: 'PUT', headers: { 'content-type': 'application/json' } })).status).toBe(403)
    // Still readable by the admin, and unchanged (the refusals above are not in it either).
    expect((await call('/api/streams/__tether/audit?offset=-1')).status).toBe(200)
    expect((await entries()).slice(0, before.length)).toEqual(before)
    expect((await entries()).some((e) => JSON.stringify(e).includes('forged'))).toBe(false)
  })
})
