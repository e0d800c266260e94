/**
 * Issue #11, the gateway's native wire endpoints (specs/security.md rows, specs/gateway.md) through
 * the production build: tried by every role that may not use them, with odd spellings of the
 * credential (lower-case bearer, `x-api-key`) and of the path; and `x-api-key` is read on the
 * gateway's paths only: anywhere else it authenticates nothing. No refusal reaches a provider
 * (no ledger cost: the session's usage stays 0).
 */
import { describe, expect, it } from 'vitest'
import { setupGatewayServer } from './gateway-support'

const server = setupGatewayServer('gateway-native-secret-0123456789abcdef')
const { token } = server
const newSession = () => server.newSession([{ id: 'a', model: 'echo' }, { id: 'b', model: 'echo:b' }])

const anthropic = JSON.stringify({ model: 'claude-opus-4-1', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
const openai = JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] })

async function post(path: string, headers: Record<string, string>, body: string) {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  return { status: res.status, text: await res.text() }
}

describe('native wire endpoints of the model gateway (production build)', () => {
  it('serve only the session’s own agents, whatever the spelling of the credential or the path', async () => {
    const id = await newSession()
    const other = await newSession()
    const worker = await token({ role: 'worker', sessionId: id, subject: 'a' })
    expect((await post(`/api/sessions/${id}/model/anthropic/v1/messages`, { 'x-api-key': worker }, anthropic)).status).toBe(200)
    expect((await post(`/api/sessions/${id}/model/openai/v1/chat/completions/`, { authorization: `bearer ${worker}` }, openai)).status).toBe(200)

    const viewer = await token({ role: 'viewer', sessionId: id, subject: 'u_viewer' })
    const collaborator = await token({ role: 'collaborator', sessionId: id, subject: 'u_collab' })
    const refused: Array<[string, Record<string, string>, string, string, number]> = [
      ['viewer in x-api-key', { 'x-api-key': viewer }, 'anthropic/v1/messages', anthropic, 403],
      ['collaborator, lower-case bearer', { authorization: `bearer ${collaborator}` }, 'openai/v1/chat/completions', openai, 403],
      ['admin', { authorization: `Bearer ${server.admin}` }, 'anthropic/v1/messages/count_tokens', anthropic, 403],
      ['a worker of another session', { 'x-api-key': await token({ role: 'worker', sessionId: other, subject: 'a' }) }, 'anthropic/v1/messages', anthropic, 403],
      ['a worker subject that is no agent', { authorization: `Bearer ${await token({ role: 'worker', sessionId: id, subject: 'agent' })}` }, 'openai/v1/chat/completions', openai, 403],
      ['a bad x-api-key', { 'x-api-key': 'sk-ant-not-a-tether-token' }, 'anthropic/v1/messages', anthropic, 401],
      ['no credential', {}, 'openai/v1/chat/completions', openai, 401],
      ['encoded slashes: not a route', { authorization: `Bearer ${worker}` }, 'anthropic%2Fv1%2Fmessages', anthropic, 404],
    ]
    for (const [who, headers, path, body, status] of refused) {
      const r = await post(`/api/sessions/${id}/model/${path}`, headers, body)
      expect([who, r.status]).toEqual([who, status])
    }
    const session = await fetch(`${server.url}/api/sessions/${id}`, { headers: { authorization: `Bearer ${server.admin}` } })
    const usage = ((await session.json()) as { session: { usage: { costUsd: number } } }).session.usage
    // Only the two served calls cost anything: $1 per million echo tokens, a few tokens each.
    expect(usage.costUsd).toBeLessThan(0.0001)
  })

  it('reads x-api-key on the gateway’s paths only: elsewhere it is no credential', async () => {
    const id = await newSession()
    const collaborator = await token({ role: 'collaborator', sessionId: id, subject: 'u_collab' })
    const message = await post(`/api/sessions/${id}/messages`, { 'x-api-key': collaborator }, JSON.stringify({ text: 'hi' }))
    expect(message.status).toBe(401)
    const read = await fetch(`${server.url}/api/sessions/${id}`, { headers: { 'x-api-key': server.admin } })
    expect(read.status).toBe(401)
  })
})
