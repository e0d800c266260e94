/**
 * The worker's turn records (issue #10): the agent loop upserts `streaming` at the first token,
 * `tool` while a tool runs, then `done` / `cancelled` (naming the control) / `failed` (with the
 * error); a turn a restarted worker resumes is first `interrupted`; the workspace snapshot hook
 * runs after a turn settles and before the next starts. A real AgentLoop and SessionView, a
 * scripted model, and a publisher that echoes each write back into the view (as the reader does).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AgentTurn } from '../../src/lib/sessions/channel-schemas'
import { AgentLoop } from '../../src/worker/agent'
import { AgentStateTracker } from '../../src/worker/agent-state'
import type { AgentControl, StreamEvent } from '../../src/worker/events'
import type { ModelProvider, StepEvent } from '../../src/worker/providers/types'
import type { Publisher } from '../../src/worker/publisher'
import { SessionView } from '../../src/worker/session-view'
import { TurnRecorder } from '../../src/worker/turn-records'

let clock = 10_000
const event = (type: string, value: Record<string, unknown>): StreamEvent => ({
  type,
  key: String(value.id),
  value: { timestamp: ++clock, ...value },
  headers: { operation: type === 'chunk' ? 'insert' : 'upsert' },
})
const userMessage = (messageId: string, text: string) =>
  event('chunk', { id: `${messageId}:0`, messageId, role: 'user', author: 'alice', turn: 0, seq: 0, delta: text, done: true })
const accepted = (messageId: string, turn: number) =>
  event('agent-state', { id: `turn:${messageId}`, kind: 'turn', messageId, turn, status: 'accepted', acceptedAt: clock, updatedAt: clock })
const cancel = (id: string, extra: Partial<AgentControl> = {}): AgentControl => ({
  id,
  kind: 'control',
  action: 'cancel',
  reason: 'user',
  requestedBy: 'alice',
  timestamp: ++clock,
  ...extra,
})

/** A publisher whose writes land in the view at once, recording turn records in order. */
function echoPublisher(view: SessionView) {
  const turns: AgentTurn[] = []
  const publisher = {
    now: () => ++clock,
    publish(channel: string, value: { id: string }) {
      if (channel === 'agent-state' && (value as { kind?: string }).kind === 'turn') turns.push(value as unknown as AgentTurn)
      view.apply({ type: channel, key: value.id, value, headers: { operation: channel === 'chunk' ? 'insert' : 'upsert' } })
    },
    flush: async () => {},
    lastOffset: undefined,
  }
  return { publisher: publisher as unknown as Publisher, turns }
}

type Script = (request: { signal: AbortSignal; messages: unknown[] }) => AsyncIterable<StepEvent>
const usage: StepEvent = { type: 'usage', usage: { inputTokens: 1, outputTokens: 1, costUsd: 0 } }

function setup(script: Script, opts: { afterTurn?: (turn: number, messageId: string) => Promise<void> } = {}) {
  const view = new SessionView('agent')
  const { publisher, turns } = echoPublisher(view)
  const provider: ModelProvider = { name: 'scripted', step: (request) => script(request as never) }
  const state = new AgentStateTracker(publisher, 'agent', {
    status: 'idle',
    currentStep: null,
    model: 'm',
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
    turns: 0,
    restarts: 0,
  })
  let idle: () => void = () => {}
  const loop = new AgentLoop({
    view,
    publisher,
    state,
    agentId: 'agent',
    workDir: mkdtempSync(join(tmpdir(), 'tether-turns-')),
    provider,
    model: 'm',
    tools: [{ name: 'list_files', description: 'list', inputSchema: { type: 'object' } }],
    caughtUp: async () => {},
    onIdle: () => idle(),
    turns: new TurnRecorder(publisher, view, 'agent'),
    ...(opts.afterTurn ? { afterTurn: opts.afterTurn } : {}),
  })
  const whenIdle = () => new Promise<void>((r) => (idle = r))
  /** A user message arrives (with the server's accepted record), as the worker sees it live. */
  const ask = (messageId: string, text: string) => {
    for (const notice of view.apply(userMessage(messageId, text))) if (notice.kind === 'user-message') loop.enqueue(notice.turn)
    view.apply(accepted(messageId, view.completedUserMessages.length))
  }
  return { view, loop, turns, ask, whenIdle }
}

const statuses = (turns: AgentTurn[], messageId: string) => turns.filter((t) => t.messageId === messageId).map((t) => t.status)

describe('turn records written by the worker', () => {
  it('a turn with a tool goes streaming → tool → streaming → done, one record per change, agentId set', async () => {
    let step = 0
    const { turns, ask, whenIdle } = setup(async function* () {
      step += 1
      yield { type: 'text', text: 'a' }
      yield { type: 'text', text: 'b' }
      if (step === 1) yield { type: 'tool_call', name: 'list_files', input: {} }
      yield usage
    })
    const idle = whenIdle()
    ask('m1', 'hi')
    await idle
    expect(statuses(turns, 'm1')).toEqual(['streaming', 'tool', 'streaming', 'done'])
    const done = turns.at(-1)!
    expect(done).toMatchObject({ id: 'turn:m1', kind: 'turn', turn: 1, agentId: 'agent', status: 'done' })
    expect(done.endedAt).toBeGreaterThanOrEqual(done.acceptedAt)
  })

  it('a failed model call ends the turn failed with the error as reason', async () => {
    const { turns, ask, whenIdle } = setup(async function* () {
      yield { type: 'text', text: 'half' }
      throw new Error('model exploded')
    })
    const idle = whenIdle()
    ask('m1', 'hi')
    await idle
    expect(statuses(turns, 'm1')).toEqual(['streaming', 'failed'])
    expect(turns.at(-1)!.reason).toBe('model exploded')
  })

  it('cancel mid-turn ends it cancelled naming the control and who asked; a cancel with no turn answers no-turn', async () => {
    let release: () => void = () => {}
    const { view, loop, turns, ask, whenIdle } = setup(async function* ({ signal }) {
      yield { type: 'text', text: 'started' }
      await new Promise<void>((resolve) => {
        release = resolve
        signal.addEventListener('abort', () => resolve())
      })
      yield { type: 'text', text: 'more' }
    })
    const idle = whenIdle()
    ask('m1', 'hi')
    await new Promise((r) => setTimeout(r, 0))
    const control = cancel('control:c1', { messageId: 'm1' })
    const [notice] = view.apply(event('agent-state', control as unknown as Record<string, unknown>))
    expect(notice).toMatchObject({ kind: 'cancel', turn: 1 })
    expect(loop.cancel(control, 1)).toBe(true)
    release()
    await idle
    expect(statuses(turns, 'm1')).toEqual(['streaming', 'cancelled'])
    expect(turns.at(-1)).toMatchObject({ stopRequest: 'control:c1', reason: 'cancelled by alice (user)' })
    // The turn has ended: a cancel naming it (or with no turn running) finds nothing to cancel.
    const late = view.apply(event('agent-state', cancel('control:c2', { turn: 1 }) as unknown as Record<string, unknown>))
    expect(late).toMatchObject([{ kind: 'cancel', turn: null }])
    expect(view.apply(event('agent-state', cancel('control:c3') as unknown as Record<string, unknown>))).toMatchObject([
      { kind: 'cancel', turn: null },
    ])
  })

  it('a cancel naming a queued turn skips it when it comes up, cancelled with that control', async () => {
    let release: () => void = () => {}
    const { view, turns, ask, whenIdle } = setup(async function* ({ messages }) {
      if (messages.length === 1) await new Promise<void>((r) => (release = r))
      yield { type: 'text', text: 'ok' }
    })
    const idle = whenIdle()
    ask('m1', 'first')
    ask('m2', 'second')
    view.apply(event('agent-state', cancel('control:q', { messageId: 'm2' }) as unknown as Record<string, unknown>))
    await new Promise((r) => setTimeout(r, 0))
    release()
    await idle
    expect(statuses(turns, 'm1')).toEqual(['streaming', 'done'])
    expect(statuses(turns, 'm2')).toEqual(['cancelled'])
    expect(turns.at(-1)!.stopRequest).toBe('control:q')
  })

  it('a turn a previous run left streaming is marked interrupted (worker restarted), then resumes to done', async () => {
    const { view, loop, turns, whenIdle } = setup(async function* () {
      yield { type: 'text', text: 'rest' }
    })
    view.apply(userMessage('m1', 'hi'))
    view.apply(accepted('m1', 1))
    view.apply(
      event('agent-state', { id: 'turn:m1', kind: 'turn', messageId: 'm1', turn: 1, agentId: 'agent', status: 'streaming', acceptedAt: 1, updatedAt: 2 }),
    )
    const idle = whenIdle()
    loop.enqueue(1)
    await idle
    expect(statuses(turns, 'm1')).toEqual(['interrupted', 'streaming', 'done'])
    expect(turns[0]).toMatchObject({ reason: 'worker restarted', interruptions: 1, acceptedAt: 1 })
    expect(turns.at(-1)!.interruptions).toBe(1)
  })

  it('the snapshot hook runs after each settled turn, before the next turn starts', async () => {
    const order: string[] = []
    const { ask, whenIdle } = setup(
      async function* ({ messages }) {
        order.push(`step ${messages.length}`)
        yield { type: 'text', text: 'x' }
      },
      {
        afterTurn: async (turn, messageId) => {
          await new Promise((r) => setTimeout(r, 5))
          order.push(`snapshot ${turn} ${messageId}`)
        },
      },
    )
    const idle = whenIdle()
    ask('m1', 'one')
    ask('m2', 'two')
    await idle
    expect(order).toEqual(['step 1', 'snapshot 1 m1', 'step 3', 'snapshot 2 m2'])
  })
})

describe('SessionView and turn records', () => {
  it('keeps the latest record per message and never takes one for the agent state', () => {
    const view = new SessionView('agent')
    view.apply(userMessage('m1', 'hi'))
    view.apply(accepted('m1', 1))
    view.apply(event('agent-state', { id: 'turn:m1', kind: 'turn', messageId: 'm1', turn: 1, agentId: 'agent', status: 'done', acceptedAt: 1, updatedAt: 2 }))
    expect(view.turnStates.get('m1')?.status).toBe('done')
    expect(view.ownState).toBeNull()
  })
})
