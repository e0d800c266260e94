/**
 * Issue #8, the access matrix of specs/security.md for the endpoints the change added, through the
 * production build: `GET /api/sessions/:id/share`, `POST /api/sessions/:id/join`,
 * `POST /api/sessions/:id/model` and `POST /api/auth/exchange`, tried by every role that may not
 * use them, with odd spellings of the token header and the path, and with bodies too big or too
 * deep. Cases already covered in gate.test.ts and test/lib/gateway/gateway.test.ts are not repeated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken, secretFromString, type IssueTokenOptions } from '../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../support/production-server'

const SECRET = 'access-matrix-secret-0123456789abcdef'
let server: ProductionServer
let admin: string
const token = (opts: IssueTokenOptions) => issueToken(secretFromString(SECRET), opts)

async function call(
  path: string,
  init: { auth?: string; method?: string; body?: string } = {},
): Promise<{ status: number; error: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (init.auth !== undefined) headers.authorization = init.auth
  const res = await fetch(`${server.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body,
  })
  const text = await res.text()
  let error = ''
  try {
    error = String((JSON.parse(text) as { error?: unknown }).error ?? '')
  } catch {
    error = text
  }
  return { status: res.status, error }
}

interface Roles {
  id: string
  viewer: string
  share: string
  collaborator: string
  worker: string
  otherWorker: string
  otherCollaborator: string
}

async function newSession(): Promise<{ id: string; share: string }> {
  const res = await fetch(`${server.url}/api/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ pattern: 'long-running', title: 'access matrix' }),
  })
  expect(res.status).toBe(201)
  const { session, shareToken } = (await res.json()) as { session: { id: string }; shareToken: string }
  return { id: session.id, share: shareToken }
}

async function roles(): Promise<Roles> {
  const { id, share } = await newSession()
  const other = await newSession()
  return {
    id,
    share,
    viewer: await token({ role: 'viewer', sessionId: id }),
    collaborator: await token({ role: 'collaborator', sessionId: id, subject: 'u-ann' }),
    worker: await token({ role: 'worker', sessionId: id, subject: 'agent-1' }),
    otherWorker: await token({ role: 'worker', sessionId: other.id, subject: 'agent-2' }),
    otherCollaborator: await token({ role: 'collaborator', sessionId: other.id, subject: 'u-bob' }),
  }
}

beforeAll(async () => {
  server = await startProductionServer({ TETHER_SECRET: SECRET, TETHER_WORKERS: 'off', TETHER_MONITOR_INTERVAL_MS: '0' })
  admin = await token({ role: 'admin', subject: 'admin-user' })
}, 180_000)
afterAll(() => server?.dispose())

describe('GET /api/sessions/:id/share (share link, collaborator, admin) and POST …/join (also viewer)', () => {
  it('refuses a viewer (share only), a worker, and tokens of another session (403), and no token (401)', async () => {
    const r = await roles()
    const refused: Array<[string, string | undefined, number, RegExp]> = [
      ['viewer', `Bearer ${r.viewer}`, 403, /role viewer/],
      ['worker of this session', `Bearer ${r.worker}`, 403, /role worker/],
      ['worker of another session', `Bearer ${r.otherWorker}`, 403, /not valid for session/],
      ['collaborator of another session', `Bearer ${r.otherCollaborator}`, 403, /not valid for session/],
      ['no token', undefined, 401, /missing token/],
    ]
    for (const [who, auth, status, reason] of refused) {
      const share = await call(`/api/sessions/${r.id}/share`, { auth })
      expect([share.status, share.error], `share: ${who}`).toEqual([status, expect.stringMatching(reason)])
      // A viewer may join, for a viewer token (test/security/viewer-presence.test.ts).
      if (who === 'viewer') continue
      const join = await call(`/api/sessions/${r.id}/join`, { auth, body: JSON.stringify({ displayName: 'X' }) })
      expect([join.status, join.error], `join: ${who}`).toEqual([status, expect.stringMatching(reason)])
    }
    for (const [who, t] of [
      ['share link', r.share],
      ['joined collaborator', r.collaborator],
      ['admin', admin],
    ]) {
      expect((await call(`/api/sessions/${r.id}/share`, { auth: `Bearer ${t}` })).status, who).toBe(200)
      expect((await call(`/api/sessions/${r.id}/join`, { auth: `Bearer ${t}`, body: '{}' })).status, who).toBe(201)
    }
  })

  it('odd spellings name the same endpoint and the same answer: Bearer case, whitespace, trailing slash, %-encoding', async () => {
    const r = await roles()
    for (const auth of [`bearer ${r.viewer}`, `BEARER   ${r.viewer}  `, `\tBearer ${r.viewer}`]) {
      const res = await call(`/api/sessions/${r.id}/share`, { auth })
      expect([res.status, res.error], JSON.stringify(auth.slice(0, 10))).toEqual([403, expect.stringMatching(/role viewer/)])
    }
    for (const path of [`/api/sessions/${r.id}/share/`, `/api/sessions/${r.id}/%73hare`, `/api/sessions/${r.id}//share`]) {
      const res = await call(path, { auth: `Bearer ${r.viewer}` })
      expect([res.status, res.error], path).toEqual([403, expect.stringMatching(/role viewer/)])
      expect((await call(path, { auth: `bearer ${r.collaborator}` })).status, path).toBe(200)
    }
    // A dot segment (%2e%2e too) resolves before routing; the token is checked against the session it lands on.
    const dotted = await call(`/api/sessions/${r.id}/x/%2e%2e/share`, { auth: `Bearer ${r.viewer}` })
    expect([dotted.status, dotted.error]).toEqual([403, expect.stringMatching(/role viewer/)])
  })

  it('join answers a body too big (413) or too deep (400) with a reason', async () => {
    const r = await roles()
    const big = await call(`/api/sessions/${r.id}/join`, {
      auth: `Bearer ${r.share}`,
      body: JSON.stringify({ displayName: 'x'.repeat(2 * 1024 * 1024) }),
    })
    expect([big.status, big.error]).toEqual([413, expect.stringMatching(/body larger than 1048576 bytes/)])
    const deep = await call(`/api/sessions/${r.id}/join`, {
      auth: `Bearer ${r.share}`,
      body: `{"displayName":"x","extra":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
    })
    expect([deep.status, deep.error]).toEqual([400, expect.stringMatching(/deeper than 64 levels/)])
  })
})

describe('the raw session append and `Stream-Closed` (production build)', () => {
  it('only admin closes; every other role, however the header is spelled, is refused and the stream stays open', async () => {
    const r = await roles()
    for (const [who, t, status, reason] of [
      ['share link', r.share, 403, /role collaborator may not close/],
      ['joined collaborator', r.collaborator, 403, /role collaborator may not close/],
      ['worker of this session', r.worker, 403, /role worker may not close/],
      ['worker of another session', r.otherWorker, 403, /role worker may not/],
      ['no token', undefined, 401, /missing token/],
    ] as Array<[string, string | undefined, number, RegExp]>) {
      for (const [name, value] of [
        ['Stream-Closed', 'true'],
        ['STREAM-CLOSED', '  true\t'],
      ]) {
        const res = await fetch(`${server.url}/api/streams/sessions/${r.id}`, {
          method: 'POST',
          headers: { ...(t ? { authorization: `bearer ${t}` } : {}), [name!]: value! },
        })
        const text = await res.text()
        expect([res.status, text], `${who}, ${name}`).toEqual([status, expect.stringMatching(reason)])
      }
    }
    // A trailing slash names no stream: refused before any role is considered.
    const slash = await call(`/api/streams/sessions/${r.id}/`, { auth: `Bearer ${r.worker}`, method: 'POST' })
    expect([slash.status, slash.error]).toEqual([400, expect.stringMatching(/Stream path has an empty segment/)])
    const head = await fetch(`${server.url}/api/streams/sessions/${r.id}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${admin}` },
    })
    expect(head.headers.get('stream-closed')).not.toBe('true')
  })

  it('a share link, a worker of another session and no token may not append; a viewer is refused before a too-big body', async () => {
    const r = await roles()
    const line = [{ type: 'presence', key: 'u-ann', value: {}, headers: { operation: 'upsert' } }]
    for (const [who, t, status, reason] of [
      ['share link', r.share, 403, /role collaborator may not append/],
      ['worker of another session', r.otherWorker, 403, /role worker may not/],
      ['no token', undefined, 401, /missing token/],
    ] as Array<[string, string | undefined, number, RegExp]>) {
      const res = await call(`/api/streams/sessions/${r.id}`, { auth: t ? `Bearer ${t}` : undefined, body: JSON.stringify(line) })
      expect([res.status, res.error], who).toEqual([status, expect.stringMatching(reason)])
    }
    const big = await call(`/api/streams/sessions/${r.id}`, { auth: `Bearer ${r.viewer}`, body: 'x'.repeat(2 * 1024 * 1024) })
    expect([big.status, big.error]).toEqual([403, expect.stringMatching(/role viewer may not append/)])
  })
})

describe("POST /api/sessions/:id/model: that session's worker only (production build)", () => {
  it('refuses the joined collaborator and the share link, also with odd spellings', async () => {
    const r = await roles()
    const step = JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi' }], maxTokens: 16 })
    for (const [who, auth, path] of [
      ['share link, lower-case bearer', `bearer ${r.share}`, `/api/sessions/${r.id}/model`],
      ['viewer, trailing slash', `Bearer ${r.viewer}`, `/api/sessions/${r.id}/model/`],
      ['collaborator, %-encoded', `Bearer ${r.collaborator}`, `/api/sessions/${r.id}/%6dodel`],
      ['worker of another session', `Bearer ${r.otherWorker}`, `/api/sessions/${r.id}/model`],
    ]) {
      const res = await call(path!, { auth, body: step })
      expect([res.status, res.error], who).toEqual([403, expect.stringMatching(/worker|not valid for session/)])
    }
    const none = await call(`/api/sessions/${r.id}/model`, { body: step })
    expect([none.status, none.error]).toEqual([401, expect.stringMatching(/missing token/)])
  })
})

describe('POST /api/auth/exchange: a one-time code, whatever token comes with it', () => {
  it('a token of any role is not a code (400); a too big or too deep body is refused', async () => {
    const r = await roles()
    for (const auth of [`Bearer ${admin}`, `Bearer ${r.viewer}`, `Bearer ${r.worker}`, undefined]) {
      const res = await call('/api/auth/exchange', { auth, body: '{}' })
      expect([res.status, res.error], auth?.slice(0, 12) ?? 'none').toEqual([400, expect.stringMatching(/code/)])
    }
    const wrong = await call('/api/auth/exchange', { auth: `Bearer ${admin}`, body: JSON.stringify({ code: admin }) })
    expect([wrong.status, wrong.error]).toEqual([401, expect.stringMatching(/not valid here; run `npm run tether -- link`/)])
    const big = await call('/api/auth/exchange', { body: JSON.stringify({ code: 'x'.repeat(10_000) }) })
    expect([big.status, big.error]).toEqual([413, expect.stringMatching(/body larger than 4096 bytes/)])
    const deep = await call('/api/auth/exchange', { body: `{"code":${'['.repeat(1000)}${']'.repeat(1000)}}` })
    expect([deep.status, deep.error]).toEqual([400, expect.stringMatching(/body nests deeper than 64 levels/)])
  })
})
