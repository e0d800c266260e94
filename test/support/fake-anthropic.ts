/**
 * A fake Anthropic Messages API on loopback (a named test double for the paid API): every request
 * answers one streamed text message, and the x-api-key each request carried is kept, so a test can
 * see which credential paid for a call.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeAnthropic {
  url: string
  /** The x-api-key of every request, in order. */
  keys: string[]
  close(): Promise<void>
}

export async function startFakeAnthropic(reply: string): Promise<FakeAnthropic> {
  const keys: string[] = []
  const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
  const server: Server = createServer(async (req, res) => {
    for await (const _ of req) void _
    keys.push(String(req.headers['x-api-key'] ?? ''))
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(
      [
        sse('message_start', { type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1 } } }),
        sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: reply } }),
        sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
        sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 8 } }),
        sse('message_stop', { type: 'message_stop' }),
      ].join(''),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keys, close: () => new Promise((r) => server.close(() => r())) }
}
