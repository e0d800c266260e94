/**
 * What an external agent program is told of the conversation when it starts a fresh session of
 * its own (resume after a crash, a new worker): nothing on a first turn, else the turns and tool
 * calls, clipped per adapter (Claude Code 4,000 characters a block, opencode 2,000).
 */
import { describe, expect, it } from 'vitest'
import { historyContext } from '../../../src/worker/adapters/claude-agent-sdk-events'
import { historyPreamble } from '../../../src/worker/adapters/opencode-events'
import { resumedHistory } from '../../../src/worker/adapters/resumed-history'
import type { ProviderMessage } from '../../../src/worker/providers/types'

const history: ProviderMessage[] = [
  { role: 'user', content: [{ type: 'text', text: 'list files' }] },
  { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'shell', input: { command: 'ls' } }] },
  { role: 'user', content: [{ type: 'tool_result', toolUseId: 't1', content: 'a.txt', isError: false }] },
  { role: 'user', content: [{ type: 'tool_result', toolUseId: 't2', content: 'no such file', isError: true }] },
  { role: 'assistant', content: [{ type: 'text', text: 'there is a.txt' }] },
]

describe('resumed history', () => {
  it('is null for a first turn and lists what was said, tool calls and failures included', () => {
    expect(resumedHistory([], 100)).toBeNull()
    expect(resumedHistory([{ role: 'user', content: [{ type: 'text', text: '  ' }] }], 100)).toBeNull()
    const text = resumedHistory(history, 100)!
    expect(text.split('\n').slice(2, -1)).toEqual([
      'User: list files',
      'You called shell: {"command":"ls"}',
      'The tool returned: a.txt',
      'The tool failed: no such file',
      'You: there is a.txt',
    ])
    expect(text).toMatch(/^<conversation-so-far>\n[\s\S]*<\/conversation-so-far>$/)
  })

  it('keeps the newest 40 messages and clips each block at the adapter\'s length', () => {
    const many: ProviderMessage[] = Array.from({ length: 45 }, (_, i) => ({ role: 'user', content: [{ type: 'text', text: `m${i}` }] }))
    const text = resumedHistory(many, 100)!
    expect(text).not.toContain('User: m4\n')
    expect(text).toContain('User: m5\n')
    const long: ProviderMessage[] = [{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(5_000) }] }]
    expect(historyContext(long)).toContain(`User: ${'x'.repeat(4_000)}…`)
    expect(historyContext(long)).not.toContain('x'.repeat(4_001))
    expect(historyPreamble(long)).toContain(`User: ${'x'.repeat(2_000)}…`)
    expect(historyPreamble(long)).not.toContain('x'.repeat(2_001))
  })
})
