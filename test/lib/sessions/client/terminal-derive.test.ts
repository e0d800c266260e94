/**
 * The terminal's pure views: raw keys are never commands (with or without control characters),
 * old streams keep their meaning, the pty size is the last resize, and the scroll-back window
 * counts output rows and characters back from where it ends.
 */
import { describe, expect, it } from 'vitest'
import type { TerminalLine } from '../../../../src/lib/sessions/channel-schemas'
import {
  commandText,
  deriveCommandBlocks,
  deriveCommandHistory,
  ptySize,
  windowStart,
  type RowMeta,
} from '../../../../src/lib/sessions/client/derive'

let n = 0
const line = (l: Partial<TerminalLine> & Pick<TerminalLine, 'kind'>): TerminalLine & RowMeta => ({
  id: `l${++n}`,
  source: l.kind === 'input' || l.kind === 'resize' ? 'alice' : 'agent',
  timestamp: 1000 + n,
  _seq: n,
  ...(l.kind === 'output' ? { stream: 'stdout' as const } : {}),
  ...l,
})

describe('raw input', () => {
  it('is never a command, even without control characters; a line without raw still is', () => {
    expect(commandText({ kind: 'input', data: 'vim notes.txt' })).toBe('vim notes.txt')
    expect(commandText({ kind: 'input', data: 'typed text', raw: true })).toBeUndefined()
    expect(commandText({ kind: 'input', data: ':wq\r', raw: true })).toBeUndefined()
    // Streams from before `raw`: control characters meant keys.
    expect(commandText({ kind: 'input', data: 'q\x1b' })).toBeUndefined()
  })

  it('keys typed into vim stay input to the vim command: one block, history without them', () => {
    const vim = line({ kind: 'input', data: 'vim notes.txt' })
    const lines = [
      vim,
      line({ kind: 'output', data: '~\r\n~\r\n', commandId: vim.id }),
      line({ kind: 'input', data: 'ihello', raw: true }),
      line({ kind: 'input', data: '\x1b:wq\r', raw: true }),
      line({ kind: 'exit', exitCode: 0, commandId: vim.id }),
      line({ kind: 'input', data: 'cat notes.txt' }),
    ]
    const blocks = deriveCommandBlocks(lines)
    expect(blocks.map((b) => b.command)).toEqual(['vim notes.txt', 'cat notes.txt'])
    expect(blocks[0].exitCode).toBe(0)
    expect(deriveCommandHistory(lines)).toEqual(['vim notes.txt', 'cat notes.txt'])
  })
})

describe('pty size', () => {
  it('is the last resize before a position, or unknown', () => {
    const lines = [
      line({ kind: 'resize', cols: 80, rows: 24 }),
      line({ kind: 'input', data: 'ls' }),
      line({ kind: 'resize', cols: 132, rows: 40 }),
    ]
    expect(ptySize(lines)).toEqual({ cols: 132, rows: 40 })
    expect(ptySize(lines, 2)).toEqual({ cols: 80, rows: 24 })
    expect(ptySize(lines, 0)).toBeNull()
  })
})

describe('scroll-back window', () => {
  const out = (rows: number) => line({ kind: 'output', data: 'x\r\n'.repeat(rows) })
  const lines = [line({ kind: 'input', data: 'seq 1 50' }), out(10), out(10), line({ kind: 'input', data: 'k', raw: true }), out(10), out(10), out(10)]

  it('starts where the newest output reaches the row limit, whole lines only', () => {
    expect(windowStart(lines, lines.length, { rows: 20, chars: 1e9 })).toBe(5)
    expect(windowStart(lines, lines.length, { rows: 25, chars: 1e9 })).toBe(4)
    expect(windowStart(lines, lines.length, { rows: 30, chars: 1e9 })).toBe(4)
  })

  it('or the character limit; an earlier window ends where the later one starts; 0 at the start', () => {
    expect(windowStart(lines, lines.length, { rows: 1e9, chars: 31 })).toBe(5)
    expect(windowStart(lines, 4, { rows: 15, chars: 1e9 })).toBe(1)
    expect(windowStart(lines, 4, { rows: 1000, chars: 1e9 })).toBe(0)
  })
})
