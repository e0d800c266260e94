/**
 * Pure views over a session's terminal lines: the commands typed at the prompt (blocks with their
 * output, shared history), the pty's size as the stream tells it, and the scroll-back window the
 * terminal pane writes to xterm (the newest part first, earlier windows on request).
 */
import type { TerminalLine } from '../channel-schemas'

/** What a collection row carries besides its value (derive.ts's RowMeta; not imported: derive.ts re-exports this file). */
interface RowMeta {
  _seq?: number
  $hasPendingWrites?: boolean
}

/** Stream order: synced rows by `_seq`, optimistic rows (no `_seq` yet) after them. */
function streamOrder(a: RowMeta & { timestamp: number }, b: RowMeta & { timestamp: number }): number {
  const sa = a._seq ?? Number.POSITIVE_INFINITY
  const sb = b._seq ?? Number.POSITIVE_INFINITY
  if (sa !== sb) return sa < sb ? -1 : 1
  return a.timestamp - b.timestamp
}

export interface CommandBlock {
  /** the input line's id (output lines carry it as commandId) */
  id: string
  command: string
  source: string
  timestamp: number
  pending: boolean
  /** the output events' data, in order (joined only when someone looks: see `output`) */
  outputParts: string[]
  /** all its output as one string (joined on each read: a long session has megabytes of it) */
  readonly output: string
  exitCode?: number
}

/**
 * The command an input line carries, if it is one: a line from the prompt. Keys typed straight
 * into the terminal are `raw` (or, in streams from before `raw`, carry a control key) and go to
 * whatever program is running, so they are input to that command, not commands of their own.
 */
export function commandText(line: Pick<TerminalLine, 'kind' | 'data' | 'raw'>): string | undefined {
  if (line.kind !== 'input' || line.data === undefined || line.raw === true) return undefined
  // eslint-disable-next-line no-control-regex -- control characters are what makes input raw
  if (/[\u0000-\u001f\u007f]/.test(line.data)) return undefined
  return line.data.trim().length > 0 ? line.data : undefined
}

export function sortTerminal<T extends TerminalLine & RowMeta>(lines: ReadonlyArray<T>): T[] {
  return [...lines].sort(streamOrder)
}

/**
 * Each command with the output the shell produced for it. The worker ties output to the input
 * line typed last; output after raw keys (answering a program the command started) stays with
 * that command.
 */
export function deriveCommandBlocks(lines: ReadonlyArray<TerminalLine & RowMeta>): CommandBlock[] {
  const blocks = new Map<string, CommandBlock>()
  const blockOfInput = new Map<string, CommandBlock>()
  let latest: CommandBlock | undefined
  for (const line of sortTerminal(lines)) {
    if (line.kind === 'input') {
      const command = commandText(line)
      if (command !== undefined) {
        latest = {
          id: line.id,
          command,
          source: line.source,
          timestamp: line.timestamp,
          pending: line.$hasPendingWrites === true,
          outputParts: [],
          get output() {
            return this.outputParts.join('')
          },
        }
        blocks.set(line.id, latest)
      }
      if (latest) blockOfInput.set(line.id, latest)
      continue
    }
    const block = line.commandId ? blockOfInput.get(line.commandId) : undefined
    if (!block) continue
    if (line.kind === 'output' && line.data) block.outputParts.push(line.data)
    if (line.kind === 'exit') block.exitCode = line.exitCode
  }
  return [...blocks.values()]
}

/** Everyone's commands in stream order, oldest first, without immediate repeats. */
export function deriveCommandHistory(lines: ReadonlyArray<TerminalLine & RowMeta>): string[] {
  const history: string[] = []
  for (const line of sortTerminal(lines)) {
    const command = commandText(line)
    if (command !== undefined && history[history.length - 1] !== command) history.push(command)
  }
  return history
}

/** Newest-first matches for Ctrl-R reverse search. */
export function searchHistory(history: readonly string[], query: string): string[] {
  if (!query) return []
  const seen = new Set<string>()
  const out: string[] = []
  for (let i = history.length - 1; i >= 0; i--) {
    const entry = history[i]
    if (entry.includes(query) && !seen.has(entry)) {
      seen.add(entry)
      out.push(entry)
    }
  }
  return out
}

export interface TerminalSize {
  cols: number
  rows: number
}

/**
 * The pty's size before `lines[end]` (default: after all of them): the last `resize` on the
 * stream, which the page of whoever typed last sent. Null when nobody has sized it yet.
 */
export function ptySize(lines: ReadonlyArray<TerminalLine>, end = lines.length): TerminalSize | null {
  for (let i = Math.min(end, lines.length) - 1; i >= 0; i--) {
    const line = lines[i]
    if (line.kind === 'resize' && line.cols !== undefined && line.rows !== undefined) return { cols: line.cols, rows: line.rows }
  }
  return null
}

/**
 * How much output the pane writes to xterm at a time: the newest 5,000 output rows or 2 MiB of
 * output, whichever is reached first (measured: bench/scenarios/terminal-open.ts). Writing all of
 * a long session's output to xterm costs about a second per 100,000 rows; older windows load on
 * request.
 */
export const TERMINAL_WINDOW = { rows: 5_000, chars: 2 * 1024 * 1024 }

/**
 * Where the window that ends before `lines[end]` starts: walking back from `end`, the index of the
 * line at which the window holds `limit.rows` output rows or `limit.chars` characters (an output
 * line is never split). 0 means the window reaches the start of what the stream keeps.
 */
export function windowStart(
  lines: ReadonlyArray<Pick<TerminalLine, 'kind' | 'data'>>,
  end = lines.length,
  limit: { rows: number; chars: number } = TERMINAL_WINDOW,
): number {
  let rows = 0
  let chars = 0
  for (let i = Math.min(end, lines.length) - 1; i >= 0; i--) {
    const line = lines[i]
    if (line.kind !== 'output' || !line.data) continue
    chars += line.data.length
    for (let at = line.data.indexOf('\n'); at !== -1; at = line.data.indexOf('\n', at + 1)) rows++
    if (rows >= limit.rows || chars >= limit.chars) return i
  }
  return 0
}
