/**
 * Issue #10, turn records (`agent-state` `kind: 'turn'`) × roles, on the production build through
 * both write paths (session writer and raw protocol append): the `accepted` record comes from the
 * server, a worker writes only its own agent's turns, and people (collaborator, viewer, share
 * link) may not write any turn record (403), so nobody in a session can fake a turn's history.
 * A collaborator's stop (a cancel control naming a turn) is accepted only as itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSessionEvent } from '../../src/lib/sessions/session-events'
import { issueToken, secretFromString, type IssueTokenOptions } from '../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../support/production-server'
import { securityClient, type SecurityClient } from './support'

const SECRET = 'turn-records-test-secret-0123456789'
let server: ProductionServer
let admin: string
let client: SecurityClient
const token = (opts: IssueTokenOptions) => issueToken(secretFromString(SECRET), opts)

beforeAll(async () => {
  // No workers: the only turn records are the server's and the ones these tests write.
  server = await startProductionServer({ TETHER_SECRET: SECRET, TETHER_WORKERS: 'off' })
  admin = await token({ role: 'admin' })
  client = securityClient(server, admin)
}, 120_000)
afterAll(() => server?.dispose())

const turnData = (messageId: string, extra: Record<string, unknown> = {}) => ({
  kind: 'turn',
  messageId,
  turn: 1,
  status: 'done',
  acceptedAt: 1,
  updatedAt: 2,
  ...extra,
})

/** Both write paths: the session writer (body {channel, data}) and a raw protocol append (an envelope). */
async function writeBoth(sessionId: string, bearer: string, data: Record<string, unknown>): Promise<[number, number]> {
  const writer = await client.api(`/api/streams?sessionId=${sessionId}`, bearer, { channel: 'agent-state', data })
  const built = buildSessionEvent({ channel: 'agent-state', data })
  if (!built.ok) throw new Error(`${built.field}: ${built.message}`)
  const raw = await client.api(`/api/streams/sessions/${sessionId}`, bearer, [built.value])
  return [writer.status, raw.status]
}

describe('turn records × roles', () => {
  it('people may not write turn records: collaborator, viewer and share link get 403 on both paths; the stream is unchanged', async () => {
    const { id, collaborator, userId } = await client.sessionWithCollaborator({ agent: { model: 'echo' } })
    const viewer = await token({ role: 'viewer', sessionId: id, subject: 'v1' })
    const created = await (await client.api(`/api/sessions/${id}/share`, admin)).json()
    const shareLink = (created as { shareToken: string }).shareToken
    const before = await client.events(id, admin)
    for (const [who, bearer] of [
      ['collaborator', collaborator],
      ['viewer', viewer],
      ['share link', shareLink],
    ] as const) {
      for (const data of [turnData('m-fake'), turnData('m-fake', { agentId: userId }), turnData('m-fake', { status: 'accepted' })]) {
        expect({ who, statuses: await writeBoth(id, bearer, data) }).toEqual({ who, statuses: [403, 403] })
      }
    }
    expect(await client.events(id, admin)).toEqual(before)
  })

  it("a worker writes its own agent's turn records, not another agent's", async () => {
    const { id } = await client.sessionWithCollaborator({ agent: { model: 'echo' } })
    const worker = await token({ role: 'worker', sessionId: id, subject: 'agent-1' })
    expect(await writeBoth(id, worker, turnData('m1', { agentId: 'agent-1', status: 'streaming' }))).toEqual([200, 204])
    expect(await writeBoth(id, worker, turnData('m1', { agentId: 'agent-2' }))).toEqual([403, 403])
    expect(await writeBoth(id, worker, turnData('m1'))).toEqual([403, 403])
    // A worker of another session: 403 before anything else.
    const elsewhere = await token({ role: 'worker', sessionId: 's_other', subject: 'agent-1' })
    expect(await writeBoth(id, elsewhere, turnData('m1', { agentId: 'agent-1' }))).toEqual([403, 403])
  })

  it("the accepted record is the server's: a person's message gets one, written by no token", async () => {
    const { id, collaborator, userId } = await client.sessionWithCollaborator({ agent: { model: 'echo' } })
    const sent = await client.api(`/api/streams?sessionId=${id}`, collaborator, {
      channel: 'chunk',
      data: { messageId: 'm-mine', role: 'user', author: userId, turn: 0, seq: 0, delta: 'hi', done: true },
    })
    expect(sent.status).toBe(200)
    const turns = (await client.events(id, collaborator)).filter((e) => e.type === 'agent-state' && e.value.kind === 'turn')
    expect(turns.map((e) => [e.key, e.value.status, e.value.agentId])).toEqual([['turn:m-mine', 'accepted', undefined]])
  })

  it('a stop naming a turn is accepted only as the collaborator itself; a viewer cannot stop', async () => {
    const { id, collaborator, userId } = await client.sessionWithCollaborator({ agent: { model: 'echo' } })
    const stop = (requestedBy: string) => ({ kind: 'control', action: 'cancel', messageId: 'm1', reason: 'user', requestedBy })
    expect(await writeBoth(id, collaborator, stop(userId))).toEqual([200, 204])
    expect(await writeBoth(id, collaborator, stop('someone-else'))).toEqual([403, 403])
    const viewer = await token({ role: 'viewer', sessionId: id, subject: 'v1' })
    expect(await writeBoth(id, viewer, stop('v1'))).toEqual([403, 403])
  })
})
