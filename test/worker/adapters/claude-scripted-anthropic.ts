/**
 * A scripted Anthropic Messages endpoint on loopback (real HTTP, the streaming SSE wire format
 * Claude Code speaks), for testing the claude-agent-sdk adapter below the gateway. It answers
 * like the gateway's echo test double, from the last user message's last text block:
 *   /run <cmd>    a text block, then a Bash tool_use; after its result "Bash succeeded:\n<output>"
 *   /slow <text>  "Echo: <text>" a word every 40 ms (for abort tests)
 *   /fail         HTTP 400 with an Anthropic error body
 *   else          "Echo: <text>"
 * Every request body is kept, so tests can check what Claude Code sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

interface Block {
  type: string
  text?: string
  content?: unknown
  is_error?: boolean
}
interface Message {
  role: string
  content: string | Block[]
}
export interface RecordedRequest {
  model: string
  system: unknown
  messages: Message[]
  tools: Array<{ name: string }>
}

export interface ScriptedAnthropic {
  url: string
  requests: RecordedRequest[]
  /** `METHOD path` of every request, whatever it was (Claude Code must call nothing but messages). */
  paths: string[]
  /** Requests whose client went away before the answer ended. */
  abandoned: number
  close(): Promise<void>
}

function blocks(content: string | Block[]): Block[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content
}

function lastUser(messages: Message[]): Message | undefined {
  return [...messages].reverse().find((m) => m.role === 'user')
}

function words(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? []
}

export async function startScriptedAnthropic(): Promise<ScriptedAnthropic> {
  const state = { requests: [] as RecordedRequest[], paths: [] as string[], abandoned: 0, calls: 0 }
  const server: Server = createServer((req, res) => void answer(req, res))

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = ''
    for await (const chunk of req) body += chunk
    state.paths.push(`${req.method} ${req.url}`)
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"type":"error","error":{"type":"not_found_error","message":"no"}}')
      return
    }
    const request = JSON.parse(body) as RecordedRequest
    state.requests.push(request)
    const id = `msg_${++state.calls}`
    const user = lastUser(request.messages)
    const last = user ? blocks(user.content) : []
    const result = last.find((b) => b.type === 'tool_result')
    const text = (last.filter((b) => b.type === 'text').at(-1)?.text ?? '').trim()
    if (text === '/fail') {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'scripted failure' } }))
      return
    }
    let say: string
    let tool: { command: string } | null = null
    let delay = 1
    if (result) {
      const output = typeof result.content === 'string' ? result.content : JSON.stringify(result.content)
      say = `Bash ${result.is_error ? 'failed' : 'succeeded'}:\n${output}`
    } else if (text.startsWith('/run ')) {
      tool = { command: text.slice(5).trim() }
      say = `Running ${tool.command}.`
    } else if (text.startsWith('/slow ')) {
      say = `Echo: ${text.slice(6).trim()}`
      delay = 40
    } else say = `Echo: ${text}`

    let open = true
    res.on('close', () => {
      if (!res.writableEnded) {
        open = false
        state.abandoned++
      }
    })
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    const send = (type: string, data: Record<string, unknown>) => {
      if (open) res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
    }
    const usage = { input_tokens: 7, output_tokens: 0 }
    send('message_start', {
      message: { id, type: 'message', role: 'assistant', model: request.model, content: [], stop_reason: null, stop_sequence: null, usage },
    })
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })
    const parts = words(say)
    for (const word of parts) {
      await new Promise((r) => setTimeout(r, delay))
      if (!open) return
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: word } })
    }
    send('content_block_stop', { index: 0 })
    if (tool) {
      send('content_block_start', { index: 1, content_block: { type: 'tool_use', id: `toolu_${state.calls}`, name: 'Bash', input: {} } })
      send('content_block_delta', {
        index: 1,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify({ ...tool, description: 'run it' }) },
      })
      send('content_block_stop', { index: 1 })
    }
    send('message_delta', {
      delta: { stop_reason: tool ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: parts.length },
    })
    send('message_stop', {})
    res.end()
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests: state.requests,
    paths: state.paths,
    get abandoned() {
      return state.abandoned
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
