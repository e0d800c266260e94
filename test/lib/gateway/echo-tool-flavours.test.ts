/** The echo double asks for whichever flavour of a tool the request offers (Tether, OpenCode, Claude Code). */
import { describe, expect, it } from 'vitest'
import { echoPlan, withoutReminders } from '../../../src/lib/gateway/echo'
import type { StepRequest } from '../../../src/lib/gateway/types'

const request = (text: string | string[], tools: string[]): StepRequest => ({
  model: 'echo',
  system: '',
  messages: [{ role: 'user', content: (Array.isArray(text) ? text : [text]).map((t) => ({ type: 'text' as const, text: t })) }],
  tools: tools.map((name) => ({ name, description: '', inputSchema: {} })),
  signal: new AbortController().signal,
})

describe('echo tool flavours', () => {
  it.each([
    [['shell', 'bash', 'Bash'], 'shell', { command: 'ls -la' }],
    [['bash', 'read', 'write'], 'bash', { command: 'ls -la', description: 'Run ls -la' }],
    [['Read', 'Bash'], 'Bash', { command: 'ls -la', description: 'Run ls -la' }],
  ])('/run with tools %j asks for %s', (tools, name, input) => {
    expect(echoPlan(request('/run ls -la', tools)).toolCall).toEqual({ name, input })
  })

  it('/read and /write use each program’s input shape', () => {
    expect(echoPlan(request('/read a.txt', ['read_file'])).toolCall).toEqual({ name: 'read_file', input: { path: 'a.txt' } })
    expect(echoPlan(request('/read a.txt', ['read'])).toolCall).toEqual({ name: 'read', input: { filePath: 'a.txt' } })
    expect(echoPlan(request('/read a.txt', ['Read'])).toolCall).toEqual({ name: 'Read', input: { file_path: 'a.txt' } })
    expect(echoPlan(request('/write a.txt hi there', ['write'])).toolCall).toEqual({ name: 'write', input: { filePath: 'a.txt', content: 'hi there' } })
    expect(echoPlan(request('/write a.txt hi', ['Write'])).toolCall).toEqual({ name: 'Write', input: { file_path: 'a.txt', content: 'hi' } })
  })

  it('says the Tether tool is not allowed when no flavour is offered', () => {
    expect(echoPlan(request('/run ls', ['Read']))).toMatchObject({ text: 'The shell tool is not allowed in this session.' })
  })

  it("reads the person's text, not the reminders a program adds before or after it", () => {
    const blocks = ['<system-reminder>todo list empty</system-reminder>', '/count 3', '<system-reminder>\nbe careful\n</system-reminder>\n']
    expect(echoPlan(request(blocks, [])).text).toBe('1 2 3')
    expect(echoPlan(request('<system-reminder>x</system-reminder>/count 2', [])).text).toBe('1 2')
    expect(withoutReminders('a<system-reminder>b</system-reminder>c')).toBe('ac')
  })
})
