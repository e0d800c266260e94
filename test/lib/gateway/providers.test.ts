/**
 * The Anthropic and OpenAI-compatible providers against loopback servers that speak their
 * streaming wire formats: FAKE test doubles for the paid APIs (no real API is called).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { AnthropicProvider } from '../../../src/lib/gateway/anthropic'
import { selectProvider } from '../../../src/lib/gateway/providers'
import { OpenAiCompatibleProvider } from '../../../src/lib/gateway/openai'
import type { StepRequest } from '../../../src/lib/gateway/types'
import { collect } from './support'
import { TOOL_SPECS } from '../../../src/worker/tools'

interface Captured {
  path: string
  headers: IncomingMessage['headers']
  // biome-ignore lint/suspicious/noExplicitAny: the request body as the double received it
  body: any
}

let server: Server | null = null
afterEach(() => {
  server?.close()
  server = null
})

/** A fake provider endpoint that records the request and answers with the given SSE text. */
async function fakeApi(sse: string): Promise<{ url: string; captured: Captured[] }> {
  const captured: Captured[] = []
  server = createServer((req, res) => {
    let raw = ''
    req.on('data', (d) => (raw += d))
    req.on('end', () => {
      captured.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(raw) })
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      // Split mid-record to exercise the parser's buffering.
      res.write(sse.slice(0, 37))
      setTimeout(() => res.end(sse.slice(37)), 5)
    })
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  const address = server.address()
  if (!address || typeof address !== 'object') throw new Error('no address')
  return { url: `http://127.0.0.1:${address.port}`, captured }
}

const request = (model: string, extra: Partial<StepRequest> = {}): StepRequest => ({
  model,
  system: 'be brief',
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'list files' }] },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Listing.' },
        { type: 'tool_use', id: 'agent:t1:s0:c0', name: 'list_files', input: { path: '.' } },
      ],
    },
    { role: 'user', content: [{ type: 'tool_result', toolUseId: 'agent:t1:s0:c0', content: 'a.txt', isError: false }] },
  ],
  tools: [TOOL_SPECS.shell],
  signal: new AbortController().signal,
  ...extra,
})

const sseRecord = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

describe('Anthropic provider (against a fake Messages API)', () => {
  it('streams text and tool calls and reports the usage tokens', async () => {
    const sse = [
      sseRecord('message_start', { type: 'message_start', message: { usage: { input_tokens: 1000, output_tokens: 1 } } }),
      sseRecord('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      sseRecord('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Run' } }),
      sseRecord('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ning it.' } }),
      sseRecord('content_block_stop', { type: 'content_block_stop', index: 0 }),
      sseRecord('content_block_start', {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_1', name: 'shell', input: {} },
      }),
      sseRecord('content_block_delta', {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '{"comm' },
      }),
      sseRecord('content_block_delta', {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: 'and":"ls"}' },
      }),
      sseRecord('content_block_stop', { type: 'content_block_stop', index: 1 }),
      sseRecord('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 500 } }),
      sseRecord('message_stop', { type: 'message_stop' }),
    ].join('')
    const api = await fakeApi(sse)
    const provider = new AnthropicProvider({ apiKey: 'sk-test', baseUrl: api.url })
    const events = await collect(provider.step(request('claude-sonnet-4-5', { prefill: 'Run ' })))
    expect(events).toEqual([
      { type: 'text', text: 'Run' },
      { type: 'text', text: 'ning it.' },
      { type: 'tool_call', name: 'shell', input: { command: 'ls' } },
      // Tokens only: Anthropic reports no money, the gateway prices the tokens.
      { type: 'usage', usage: { inputTokens: 1000, outputTokens: 500 } },
    ])
    const [call] = api.captured
    expect(call.path).toBe('/v1/messages')
    expect(call.headers['x-api-key']).toBe('sk-test')
    expect(call.headers['anthropic-version']).toBe('2023-06-01')
    expect(call.body).toMatchObject({ model: 'claude-sonnet-4-5', system: 'be brief', stream: true })
    expect(call.body.tools[0]).toMatchObject({ name: 'shell', input_schema: { type: 'object' } })
    // Tool ids are made API-safe consistently; the prefill is the trimmed last assistant message.
    expect(call.body.messages[1].content[1]).toMatchObject({ type: 'tool_use', id: 'agent_t1_s0_c0' })
    expect(call.body.messages[2].content[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'agent_t1_s0_c0', content: 'a.txt' })
    expect(call.body.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Run' }] })
  })
})

describe('OpenAI-compatible provider (against a fake chat completions endpoint)', () => {
  it('streams text and function calls and passes a reported cost on', async () => {
    const chunk = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`
    const sse = [
      chunk({ choices: [{ delta: { role: 'assistant', content: 'Hel' } }] }),
      chunk({ choices: [{ delta: { content: 'lo' } }] }),
      chunk({ choices: [{ delta: { tool_calls: [{ index: 0, id: 'call_1', function: { name: 'shell', arguments: '{"command":' } }] } }] }),
      chunk({ choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '"pwd"}' } }] } }] }),
      chunk({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 7, cost: 0.00042 } }),
      'data: [DONE]\n\n',
    ].join('')
    const api = await fakeApi(sse)
    const provider = new OpenAiCompatibleProvider({ baseUrl: `${api.url}/v1`, apiKey: 'k' })
    const events = await collect(provider.step(request('llama3')))
    expect(events).toEqual([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'tool_call', name: 'shell', input: { command: 'pwd' } },
      { type: 'usage', usage: { inputTokens: 12, outputTokens: 7, reportedCostUsd: 0.00042 } },
    ])
    const [call] = api.captured
    expect(call.path).toBe('/v1/chat/completions')
    expect(call.headers.authorization).toBe('Bearer k')
    expect(call.body.messages[0]).toEqual({ role: 'system', content: 'be brief' })
    expect(call.body.messages[2]).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: 'agent:t1:s0:c0', function: { name: 'list_files' } }],
    })
    expect(call.body.messages[3]).toEqual({ role: 'tool', tool_call_id: 'agent:t1:s0:c0', content: 'a.txt' })
    expect(call.body.stream_options).toEqual({ include_usage: true })
  })
})

describe('provider selection', () => {
  it('maps model names to providers and explains missing credentials', () => {
    expect(selectProvider('echo', {}).provider.name).toBe('echo')
    expect(selectProvider('anthropic:claude-haiku-4-5', { ANTHROPIC_API_KEY: 'k' })).toMatchObject({ model: 'claude-haiku-4-5' })
    expect(() => selectProvider('claude-sonnet-4-5', {})).toThrow(/ANTHROPIC_API_KEY/)
    expect(selectProvider('openai:qwen2', { TETHER_OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' })).toMatchObject({ model: 'qwen2' })
    expect(() => selectProvider('llama3', {})).toThrow(/TETHER_OPENAI_BASE_URL/)
  })
})
