/**
 * Helpers shared by the issue #8 tests that drive a production server (test/support/production-server)
 * as an admin and as a collaborator who joined through a session's share link: the HTTP API, the
 * session's event stream, polling, typing into the terminal, and (as root can) the environments
 * of the processes serving a session.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { ProductionServer } from '../support/production-server'

export type Event = { type: string; key: string; value: Record<string, unknown> }

/** A session made by admin and the collaborator who joined it through its share link. */
export interface Collaboration {
  id: string
  /** The collaborator's token. */
  collaborator: string
  userId: string
}

export interface SecurityClientOptions {
  /** How long `waitFor` waits unless told otherwise (default 60 s). */
  waitTimeoutMs?: number
}

export interface SessionOptions {
  /** The name the collaborator joins under (default 'Mallory'). */
  displayName?: string
  /** Also wait for the session's worker to announce itself in the stream (an agent-state event). */
  awaitWorker?: boolean
}

/** `server` must be started and `admin` an admin token for it. */
export function securityClient(server: ProductionServer, admin: string, options: SecurityClientOptions = {}) {
  const defaultTimeoutMs = options.waitTimeoutMs ?? 60_000

  async function api(path: string, token: string, body?: unknown): Promise<Response> {
    return fetch(`${server.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  }

  async function events(sessionId: string, token: string): Promise<Event[]> {
    const res = await api(`/api/streams/sessions/${sessionId}?offset=-1`, token)
    expect(res.status).toBe(200)
    const text = await res.text()
    return text.trim() ? (JSON.parse(text) as Event[]) : []
  }

  async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = defaultTimeoutMs): Promise<T> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const value = await check()
      if (value) return value
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`gave up waiting for ${what}; server output:\n${server.output().slice(-3000)}`)
  }

  /** A long-running session made by admin from `body`, joined by a collaborator through its share link. */
  async function sessionWithCollaborator(
    body: Record<string, unknown>,
    { displayName = 'Mallory', awaitWorker = false }: SessionOptions = {},
  ): Promise<Collaboration> {
    const created = await api('/api/sessions', admin, { pattern: 'long-running', ...body })
    expect(created.status).toBe(201)
    const { session, shareToken } = (await created.json()) as { session: { id: string }; shareToken: string }
    const joined = await api(`/api/sessions/${session.id}/join`, shareToken, { displayName })
    expect(joined.status).toBe(201)
    const { token: collaborator, userId } = (await joined.json()) as { token: string; userId: string }
    if (awaitWorker) {
      await waitFor('the worker to announce itself', async () =>
        (await events(session.id, collaborator)).some((e) => e.type === 'agent-state'),
      )
    }
    return { id: session.id, collaborator, userId }
  }

  /** The collaborator types `lines` into the terminal; resolves with its output once that contains `until`. */
  async function typeInTerminal({ id, collaborator, userId }: Collaboration, lines: string[], until: string): Promise<string> {
    for (const [i, data] of lines.entries()) {
      const res = await api(`/api/streams?sessionId=${id}`, collaborator, {
        channel: 'terminal',
        data: { id: `probe-${i}`, kind: 'input', source: userId, data },
      })
      expect(res.status).toBe(200)
    }
    return waitFor('the terminal to answer the last line', async () => {
      const text = (await events(id, collaborator))
        .filter((e) => e.type === 'terminal' && e.value.kind === 'output')
        .map((e) => String(e.value.data))
        .join('')
      return text.includes(until) && text
    })
  }

  return { api, events, waitFor, sessionWithCollaborator, typeInTerminal }
}

export type SecurityClient = ReturnType<typeof securityClient>

/** Environments (NUL-separated) of the processes serving `sessionId`: the worker and anything it started. */
export function processEnvironments(sessionId: string): string[] {
  const out: string[] = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const env = readFileSync(join('/proc', pid, 'environ'), 'utf8')
      if (env.includes(`TETHER_SESSION_ID=${sessionId}`)) out.push(env)
    } catch {
      // gone, or not ours to read
    }
  }
  return out
}

/** The token of the worker process serving `sessionId` (found by its environment, as root can). */
export function workerToken(sessionId: string): string | null {
  for (const env of processEnvironments(sessionId)) {
    const entries = env.split('\0')
    if (!entries.includes(`TETHER_SESSION_ID=${sessionId}`)) continue
    const token = entries.find((e) => e.startsWith('TETHER_WORKER_TOKEN='))
    if (token) return token.slice('TETHER_WORKER_TOKEN='.length)
  }
  return null
}
