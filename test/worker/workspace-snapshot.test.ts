/** The worker's workspace snapshot request: what it sends, and that no answer stops the agent. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestWorkspaceSnapshot } from '../../src/worker/workspace-snapshot'

const seen: Array<{ url: string; auth: string; body: unknown }> = []
let answer: (res: ServerResponse) => void = (res) => res.writeHead(201).end('{}')
const server = createServer((req: IncomingMessage, res) => {
  let body = ''
  req.on('data', (c) => (body += c))
  req.on('end', () => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization ?? '', body: JSON.parse(body || 'null') })
    answer(res)
  })
})
let serverUrl = ''
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe('requestWorkspaceSnapshot', () => {
  it('POSTs {turn, messageId} to the session API with the worker token', async () => {
    expect(await requestWorkspaceSnapshot({ serverUrl, sessionId: 's_1', token: 'tok' }, 3, 'm3')).toBe(true)
    expect(seen.at(-1)).toEqual({ url: '/api/sessions/s_1/workspace-snapshots', auth: 'Bearer tok', body: { turn: 3, messageId: 'm3' } })
  })

  it('answers false (never throws) for a server without the feature, a refusal, a hang or no server', async () => {
    for (const status of [404, 501, 500]) {
      answer = (res) => res.writeHead(status).end('nope')
      expect(await requestWorkspaceSnapshot({ serverUrl, sessionId: 's_1', token: 't' }, 1, 'm1')).toBe(false)
    }
    answer = () => {} // never answers
    expect(await requestWorkspaceSnapshot({ serverUrl, sessionId: 's_1', token: 't', timeoutMs: 200 }, 1, 'm1')).toBe(false)
    expect(await requestWorkspaceSnapshot({ serverUrl: 'http://127.0.0.1:1', sessionId: 's_1', token: 't' }, 1, 'm1')).toBe(false)
  })
})
