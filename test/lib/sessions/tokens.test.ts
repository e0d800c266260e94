import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  canManageStream,
  canRead,
  canWrite,
  issueToken,
  mayWriteSession,
  sessionIdFromPath,
  secretFromString,
  tokenFromRequest,
  verifyToken,
  type TokenClaims,
} from '../../../src/lib/sessions/tokens'
import { loadOrCreateSecret } from '../../../src/lib/sessions/secret'

const secret = secretFromString('test-secret-test-secret-test-secret')

describe('tokens', () => {
  it('issues and verifies a scoped token', async () => {
    const token = await issueToken(secret, { role: 'collaborator', sessionId: 's1', subject: 'u1', name: 'Ann' })
    const r = await verifyToken(secret, token)
    expect(r).toMatchObject({ ok: true, claims: { role: 'collaborator', sid: 's1', sub: 'u1', name: 'Ann' } })
  })

  it('rejects expired, forged and garbage tokens', async () => {
    const token = await issueToken(secret, { role: 'viewer', sessionId: 's1', ttlSeconds: 60, now: 1_000_000_000_000 })
    expect(await verifyToken(secret, token, 1_000_000_000_000 + 61_000)).toEqual({ ok: false, reason: 'token expired' })
    expect((await verifyToken(secretFromString('another-secret-another-secret'), token, 1_000_000_000_000)).ok).toBe(false)
    expect((await verifyToken(secret, 'not.a.jwt')).ok).toBe(false)
  })

  it('refuses to issue unscoped non-admin tokens', async () => {
    await expect(issueToken(secret, { role: 'viewer' })).rejects.toThrow(/session id/)
    await expect(issueToken(secret, { role: 'collaborator', sessionId: '*' })).rejects.toThrow(/admin/)
    await expect(issueToken(secret, { role: 'worker', sessionId: 's1' })).rejects.toThrow(/subject/)
    const admin = await verifyToken(secret, await issueToken(secret, { role: 'admin' }))
    expect(admin).toMatchObject({ ok: true, claims: { sid: '*' } })
  })

  it('creates the secret once in the data dir, mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-secret-'))
    const a = loadOrCreateSecret(dir, undefined)
    const b = loadOrCreateSecret(dir, undefined)
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true)
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(dir, 'secret'), 'utf8').length).toBeGreaterThan(30)
    expect(Buffer.from(loadOrCreateSecret(dir, 'from-the-environment-123')).toString()).toBe('from-the-environment-123')
  })

  it('reads tokens from the Authorization header or ?token=', () => {
    expect(tokenFromRequest(new Request('http://x/a', { headers: { authorization: 'Bearer abc' } }))).toBe('abc')
    expect(tokenFromRequest(new Request('http://x/a?token=def'))).toBe('def')
    expect(tokenFromRequest(new Request('http://x/a'))).toBeNull()
  })
})

describe('scopes', () => {
  const claims = (role: TokenClaims['role'], sid = 's1', sub?: string): TokenClaims => ({ role, sid, sub, exp: 0, iat: 0 })
  const viewer = claims('viewer')
  const collab = claims('collaborator', 's1', 'u1')
  const share = claims('collaborator', 's1')
  const worker = claims('worker', 's1', 'a1')
  const admin = claims('admin', '*')

  it('reads only the own session (admin reads everything)', () => {
    expect(canRead(viewer, 'sessions/s1')).toBe(true)
    expect(canRead(viewer, 'sessions/s2')).toBe(false)
    expect(canRead(worker, 'other/stream')).toBe(false)
    expect(canRead(admin, 'other/stream')).toBe(true)
    expect(canManageStream(collab, 'sessions/s1')).toBe(false)
    expect(canManageStream(admin, 'sessions/s1')).toBe(true)
  })

  it('collaborators write their own user chunks, terminal input, presence and stop requests', () => {
    expect(canWrite(collab, 'chunk', { role: 'user', author: 'u1' })).toBe(true)
    expect(canWrite(collab, 'chunk', { role: 'user', author: 'u2' })).toBe(false)
    expect(canWrite(collab, 'chunk', { role: 'assistant', author: 'u1' })).toBe(false)
    expect(canWrite(collab, 'terminal', { kind: 'input', source: 'u1' })).toBe(true)
    expect(canWrite(collab, 'terminal', { kind: 'output', source: 'u1' })).toBe(false)
    expect(canWrite(collab, 'presence', { userId: 'u1' })).toBe(true)
    expect(canWrite(collab, 'presence', { userId: 'u2' })).toBe(false)
    expect(canWrite(collab, 'tool-call', {})).toBe(false)
    expect(canWrite(collab, 'agent-state', { kind: 'control', requestedBy: 'u1' })).toBe(true)
    expect(canWrite(collab, 'agent-state', { kind: 'state', agentId: 'u1' })).toBe(false)
    expect(canWrite(share, 'presence', { userId: 'anyone' })).toBe(false)
    expect(canWrite(viewer, 'presence', { userId: 'u1' })).toBe(false)
  })

  it('a viewer with a user writes only its own presence, marked as a viewer, or deletes it', () => {
    const watcher = claims('viewer', 's1', 'v1')
    expect(mayWriteSession(watcher, 's1')).toBe(true)
    expect(mayWriteSession(watcher, 's2')).toBe(false)
    expect(canWrite(watcher, 'presence', { id: 'v1', userId: 'v1', status: 'active', role: 'viewer' })).toBe(true)
    expect(canWrite(watcher, 'presence', { id: 'v1', userId: 'v1' })).toBe(true) // the delete's key
    expect(canWrite(watcher, 'presence', { id: 'v1', userId: 'v1', status: 'active' })).toBe(false)
    expect(canWrite(watcher, 'presence', { id: 'v1', userId: 'v1', status: 'active', role: 'collaborator' })).toBe(false)
    expect(canWrite(watcher, 'presence', { id: 'u1', userId: 'u1', status: 'active', role: 'viewer' })).toBe(false)
    expect(canWrite(watcher, 'presence', { id: 'u1', userId: 'u1' })).toBe(false)
    expect(canWrite(watcher, 'chunk', { role: 'user', author: 'v1' })).toBe(false)
    expect(canWrite(watcher, 'terminal', { kind: 'input', source: 'v1' })).toBe(false)
    expect(canWrite(watcher, 'agent-state', { kind: 'control', requestedBy: 'v1' })).toBe(false)
    // A collaborator may call itself a viewer (less), never an admin.
    expect(canWrite(collab, 'presence', { userId: 'u1', role: 'viewer' })).toBe(true)
    expect(canWrite(collab, 'presence', { userId: 'u1', role: 'admin' })).toBe(false)
  })

  it('workers write their agent channels only', () => {
    expect(canWrite(worker, 'chunk', { role: 'assistant', author: 'a1' })).toBe(true)
    expect(canWrite(worker, 'chunk', { role: 'user', author: 'a1' })).toBe(false)
    expect(canWrite(worker, 'tool-call', { agentId: 'a1' })).toBe(true)
    // A tool call names the agent that made it: only that agent's worker records it.
    expect(canWrite(worker, 'tool-call', { agentId: 'a2' })).toBe(false)
    expect(canWrite(worker, 'tool-call', {})).toBe(false)
    expect(canWrite(worker, 'terminal', { kind: 'output', source: 'a1' })).toBe(true)
    expect(canWrite(worker, 'terminal', { kind: 'input', source: 'a1' })).toBe(false)
    expect(canWrite(worker, 'agent-state', { kind: 'state', agentId: 'a1' })).toBe(true)
    expect(canWrite(worker, 'agent-state', { kind: 'state', agentId: 'a2' })).toBe(false)
    expect(canWrite(worker, 'presence', { userId: 'a1' })).toBe(false)
    expect(canWrite(admin, 'tool-call', {})).toBe(true)
  })

  it('decides whether a token may write to a session at all, before any body is read', () => {
    expect(mayWriteSession(collab, 's1')).toBe(true)
    expect(mayWriteSession(worker, 's1')).toBe(true)
    expect(mayWriteSession(admin, 's1')).toBe(true)
    expect(mayWriteSession(viewer, 's1')).toBe(false)
    expect(mayWriteSession(share, 's1')).toBe(false)
    expect(mayWriteSession(collab, 's2')).toBe(false)
    expect(mayWriteSession(worker, 's2')).toBe(false)
  })

  it('takes the session id from an already decoded path, without decoding it again', () => {
    expect(sessionIdFromPath('sessions/abc')).toBe('abc')
    // `%2573` arrives decoded once as `%73`: it names the stream `sessions/ab%73`, never session `abs`.
    expect(sessionIdFromPath('sessions/ab%73')).toBe('ab%73')
    expect(sessionIdFromPath('sessions/a/b')).toBeNull()
    expect(sessionIdFromPath('other/abc')).toBeNull()
  })
})

describe('issuing tokens with names', () => {
  it("refuses names and subjects with control characters (they end up in other people's terminals)", async () => {
    await expect(
      issueToken(secret, { role: 'collaborator', sessionId: 's1', subject: 'u1', name: 'Eve\u001b]0;pwned\u0007' }),
    ).rejects.toMatchObject({ status: 400, field: 'displayName' })
    await expect(issueToken(secret, { role: 'collaborator', sessionId: 's1', subject: 'u1\u009b31m' })).rejects.toMatchObject({
      status: 400,
    })
    await expect(issueToken(secret, { role: 'collaborator', sessionId: 's1', subject: 'u1', name: 'x'.repeat(101) })).rejects.toMatchObject(
      { status: 400 },
    )
    expect(await issueToken(secret, { role: 'collaborator', sessionId: 's1', subject: 'u1', name: 'Zoë Ångström 👋' })).toMatch(/^ey/)
  })
})
