/**
 * Everything a person does in a session, as optimistic actions: the change shows at once in the
 * session's collections (rows carry `$hasPendingWrites`), the event is written through the event
 * writer, and the action is confirmed only when the stream has delivered the server's offset back
 * to this page. If the write fails, TanStack DB rolls the change back and the failure is listed
 * in `failures` for the UI to show (presence and cursor failures stay quiet: the next heartbeat
 * repairs them).
 */
import { createOptimisticAction, type Transaction } from '@tanstack/db'
import type { AgentControl, Chunk, Presence, TerminalLine } from '../channel-schemas'
import type { SessionConnection } from './session-db'
import type { TerminalSize } from './terminal-derive'
import { writeEvents, WriteError, type EventInput } from './event-writer-client'

export interface Identity {
  userId: string
  displayName: string
  color: string
}

export interface WriteFailure {
  id: string
  /** what the person tried, e.g. "send message" */
  action: string
  message: string
  status: number
  at: number
}

export class FailureStore {
  private list: WriteFailure[] = []
  private readonly listeners = new Set<() => void>()
  getSnapshot = (): WriteFailure[] => this.list
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
  push(failure: WriteFailure): void {
    this.list = [...this.list.slice(-4), failure]
    for (const l of this.listeners) l()
  }
  dismiss(id: string): void {
    this.list = this.list.filter((f) => f.id !== id)
    for (const l of this.listeners) l()
  }
}

function newId(): string {
  return crypto.randomUUID()
}

export type PresencePatch = Partial<Pick<Presence, 'status' | 'cursor' | 'focusedPane' | 'displayName' | 'color' | 'role'>>

export interface SessionActions {
  readonly identity: Identity
  readonly failures: FailureStore
  sendMessage(text: string, turn?: number): { messageId: string; transaction: Transaction }
  /**
   * A command line typed at the prompt (sent without a line ending: the worker presses Enter).
   * With `size`, a resize to it goes first, in the same write (so nothing comes between them).
   */
  runCommand(command: string, size?: TerminalSize): { lineId: string; transaction: Transaction }
  /** keys typed into the terminal, written to the pty as typed (`raw`: no Enter added); `size` as above */
  sendKeys(data: string, size?: TerminalSize): Transaction
  resizeTerminal(cols: number, rows: number): Transaction
  updatePresence(patch: PresencePatch): Transaction
  /**
   * Stop: cancel a turn (the current one the page shows; absent = whatever the agent runs). A
   * logged command: the turn's final record names it (`stopRequest`). The agent stays. With
   * `agentId` (several agents, issue #15) only that agent's turn answering the message stops.
   */
  requestStop(target?: { messageId: string; agentId?: string }, reason?: string): Transaction
}

interface Step {
  label: string
  quiet: boolean
  mutate: () => void
  events: EventInput[]
}

export function createSessionActions(connection: SessionConnection, identity: Identity): SessionActions {
  const failures = new FailureStore()
  const { chunks, terminal, presence, agentState } = connection.db.collections
  const target = { sessionId: connection.sessionId, token: connection.token }

  const act = createOptimisticAction<Step>({
    onMutate: (step) => step.mutate(),
    mutationFn: async (step) => {
      const { offset } = await writeEvents(target, step.events)
      await connection.waitForOffset(offset)
    },
  })

  const run = (step: Step): Transaction => {
    const transaction = act(step)
    transaction.isPersisted.promise.catch((err: unknown) => {
      if (step.quiet) return
      const status = err instanceof WriteError ? err.status : 0
      failures.push({ id: newId(), action: step.label, message: err instanceof Error ? err.message : String(err), status, at: Date.now() })
    })
    return transaction
  }

  const terminalLine = (line: TerminalLine, label: string, quiet = false): Transaction =>
    run({ label, quiet, mutate: () => terminal.insert(line), events: [{ channel: 'terminal', data: { ...line } }] })
  /** An input line, after a resize to `size` when given: one write, so they land in this order. */
  const terminalInput = (line: TerminalLine, label: string, size?: TerminalSize): Transaction => {
    const lines: TerminalLine[] = size
      ? [{ id: newId(), kind: 'resize', source: identity.userId, cols: size.cols, rows: size.rows, timestamp: line.timestamp }, line]
      : [line]
    return run({
      label,
      quiet: false,
      mutate: () => {
        for (const l of lines) terminal.insert(l)
      },
      events: lines.map((l) => ({ channel: 'terminal', data: { ...l } })),
    })
  }

  return {
    identity,
    failures,
    sendMessage(text, turn = 0) {
      const messageId = newId()
      const chunk: Chunk = {
        id: `${messageId}:0`,
        messageId,
        role: 'user',
        author: identity.userId,
        turn,
        seq: 0,
        delta: text,
        done: true,
        timestamp: Date.now(),
      }
      const transaction = run({
        label: 'send message',
        quiet: false,
        mutate: () => chunks.insert(chunk),
        events: [{ channel: 'chunk', data: { ...chunk } }],
      })
      return { messageId, transaction }
    },
    runCommand(command, size) {
      const line: TerminalLine = { id: newId(), kind: 'input', source: identity.userId, data: command, timestamp: Date.now() }
      return { lineId: line.id, transaction: terminalInput(line, 'run command', size) }
    },
    sendKeys(data, size) {
      const line: TerminalLine = { id: newId(), kind: 'input', source: identity.userId, data, raw: true, timestamp: Date.now() }
      return terminalInput(line, 'send keys', size)
    },
    resizeTerminal(cols, rows) {
      return terminalLine(
        { id: newId(), kind: 'resize', source: identity.userId, cols, rows, timestamp: Date.now() },
        'resize terminal',
        true,
      )
    },
    updatePresence(patch) {
      const now = Date.now()
      const current = presence.get(identity.userId)
      const value: Presence = {
        id: identity.userId,
        userId: identity.userId,
        displayName: identity.displayName,
        color: identity.color,
        status: 'active',
        cursor: null,
        focusedPane: null,
        ...(current ? stripMeta(current) : {}),
        ...patch,
        lastSeen: now,
        timestamp: now,
      }
      return run({
        label: 'update presence',
        quiet: true,
        mutate: () => {
          if (presence.has(identity.userId)) presence.update(identity.userId, (draft) => Object.assign(draft, value))
          else presence.insert(value)
        },
        events: [{ channel: 'presence', data: { ...value } }],
      })
    },
    requestStop(target, reason = 'user') {
      const control: AgentControl = {
        id: `control:${newId()}`,
        kind: 'control',
        action: 'cancel',
        ...(target ? { messageId: target.messageId } : {}),
        ...(target?.agentId ? { agentId: target.agentId } : {}),
        reason,
        requestedBy: identity.userId,
        timestamp: Date.now(),
      }
      return run({
        label: 'stop the turn',
        quiet: false,
        mutate: () => agentState.insert(control),
        events: [{ channel: 'agent-state', data: { ...control } }],
      })
    },
  }
}

/** A collection row without StreamDB's and TanStack DB's bookkeeping fields. */
function stripMeta<T extends object>(row: T): Partial<T> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(row)) if (!k.startsWith('$') && k !== '_seq') out[k] = v
  return out as Partial<T>
}
