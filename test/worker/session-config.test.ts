/** What the worker derives from its token and its session record; how terminal input is typed. */
import { describe, expect, it } from 'vitest'
import { parseClaim, parseClaimLine, sessionConfigFrom, tokenSubject } from '../../src/worker/session-config'
import { toPtyInput } from '../../src/worker/terminal'

const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`

describe('worker config', () => {
  it("takes the agent id from its token's subject", () => {
    expect(tokenSubject(jwt({ sub: 'agent', role: 'worker' }))).toBe('agent')
    expect(() => tokenSubject(jwt({ role: 'worker' }))).toThrow(/no subject/)
    expect(() => tokenSubject('not-a-jwt')).toThrow()
  })

  it("reads model, tools, system prompt and pattern from the session record's agent config", () => {
    const record = {
      session: {
        pattern: 'ephemeral',
        agent: { provider: 'anthropic', model: 'claude-haiku-4-5', allowedTools: ['read_file', 'nope'], systemPrompt: 'hi' },
      },
    }
    expect(sessionConfigFrom(record)).toEqual({
      model: 'anthropic:claude-haiku-4-5',
      tools: ['read_file'],
      system: 'hi',
      pattern: 'ephemeral',
    })
    expect(sessionConfigFrom({ session: { agent: { provider: 'echo' } } }).model).toBe('echo')
    expect(sessionConfigFrom({ session: { agent: { model: 'openai:qwen2' } } }).model).toBe('openai:qwen2')
    expect(sessionConfigFrom({}).model).toBe('echo')
    expect(sessionConfigFrom({}).tools).toEqual(['shell', 'read_file', 'write_file', 'list_files'])
  })

  it('accepts only complete claims', () => {
    expect(parseClaim('{"sessionId":"s","serverUrl":"http://x","token":"t"}')).toEqual({
      sessionId: 's',
      serverUrl: 'http://x',
      token: 't',
    })
    expect(() => parseClaim('{"sessionId":"s"}')).toThrow()
  })

  it('refuses malformed claim lines with a reason, and keeps only an object as the session setup', () => {
    for (const line of ['', 'not json', '[]', 'null', '42', '{"sessionId":1,"serverUrl":"http://x","token":"t"}', '{"sessionId":"s","serverUrl":"http://x","token":null}']) {
      expect(() => parseClaimLine(line), line).toThrow()
    }
    expect(() => parseClaimLine('{"sessionId":"s","serverUrl":"http://x"}')).toThrow(/a claim is/)
    const base = { sessionId: 's', serverUrl: 'http://x', token: 't' }
    for (const session of [[1, 2], 'text', null, 7]) expect(parseClaimLine(JSON.stringify({ ...base, session })).session).toBeUndefined()
    expect(parseClaimLine(JSON.stringify({ ...base, session: { title: 'x' } })).session).toEqual({ title: 'x' })
    // Fields a claim does not define are not carried into the identity.
    expect(parseClaimLine(JSON.stringify({ ...base, env: { TETHER_SECRET: 'x' } })).identity).toEqual(base)
  })
})

describe('terminal input', () => {
  it('adds Enter to a typed line and passes raw keystrokes through', () => {
    expect(toPtyInput('ls -la')).toBe('ls -la\r')
    expect(toPtyInput('ls\n')).toBe('ls\n')
    expect(toPtyInput('\u0003')).toBe('\u0003')
    expect(toPtyInput('\u001b[A')).toBe('\u001b[A')
  })
})
