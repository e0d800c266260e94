/**
 * Several agents in one session (issue #15), the worker's view: which turns are whose (people's
 * messages routed by mention, default or all with the roster as of each message; hand-offs from
 * other agents' finished turns), their depth, and the hand-off records a finished turn writes
 * (with the cap's refusal).
 */
import { describe, expect, it } from 'vitest'
import type { AgentTurn } from '../../src/lib/sessions/channel-schemas'
import { stripLeadingMentions, echoPlan } from '../../src/lib/gateway/echo'
import { buildHistory } from '../../src/worker/agent'
import type { StreamEvent } from '../../src/worker/events'
import { SessionView, stepMessageId, type ViewNotice } from '../../src/worker/session-view'
import { TurnRecorder } from '../../src/worker/turn-records'

let ts = 1_000
const ev = (type: string, value: Record<string, unknown>, operation: 'insert' | 'upsert' = 'insert'): StreamEvent => ({
  type,
  key: String(value.id),
  value: { timestamp: ++ts, ...value },
  headers: { operation },
})
const user = (messageId: string, text: string) =>
  ev('chunk', { id: `${messageId}:0`, messageId, role: 'user', author: 'alice', turn: 0, seq: 0, delta: text, done: true })
const reply = (agentId: string, turn: number, step: number, text: string) => {
  const messageId = stepMessageId(agentId, turn, step)
  return ev('chunk', { id: `${messageId}:0`, messageId, role: 'assistant', author: agentId, turn, seq: 0, delta: text, done: true })
}
const roster = (ids: string[], extra: Record<string, unknown> = {}) =>
  ev(
    'agent-state',
    {
      id: 'roster',
      kind: 'roster',
      agents: ids.map((id) => ({ id, name: id === 'b' ? 'Bob' : id })),
      defaultAgent: ids[0],
      unaddressed: 'default',
      maxAgentTurnsInARow: 2,
      ...extra,
    },
    'upsert',
  )
const turnRecord = (agentId: string, messageId: string, turn: number, status: string, extra: Partial<AgentTurn> = {}) =>
  ev(
    'agent-state',
    {
      id: agentId === 'agent' ? `turn:${messageId}` : `turn:${messageId}@${agentId}`,
      kind: 'turn',
      messageId,
      turn,
      agentId,
      status,
      acceptedAt: ts,
      updatedAt: ts,
      ...extra,
    },
    'upsert',
  )

function replay(agentId: string, events: StreamEvent[]): { view: SessionView; notices: ViewNotice[] } {
  const view = new SessionView(agentId)
  const notices: ViewNotice[] = []
  for (const e of events) notices.push(...view.apply(e))
  return { view, notices }
}

const triggersOf = (view: SessionView) => view.triggers.map((t) => t.messageId)

describe('SessionView with several agents', () => {
  it('gives each agent the messages that mention it, the default agent the unaddressed ones', () => {
    const events = [
      roster(['a', 'b', 'c']),
      user('m1', '@b hi'),
      user('m2', 'no one named'),
      user('m3', '@a and @Bob, both'),
      user('m4', '@c'),
    ]
    expect(triggersOf(replay('a', events).view)).toEqual(['m2', 'm3'])
    expect(triggersOf(replay('b', events).view)).toEqual(['m1', 'm3'])
    expect(triggersOf(replay('c', events).view)).toEqual(['m4'])
    // Every view still knows every person's message, in order.
    expect(replay('c', events).view.completedUserMessages).toEqual(['m1', 'm2', 'm3', 'm4'])
    // Turn numbers are per agent: b's second turn answers m3.
    const b = replay('b', events)
    expect(b.notices.filter((n) => n.kind === 'user-message')).toEqual([
      { kind: 'user-message', turn: 1 },
      { kind: 'user-message', turn: 2 },
    ])
    expect(b.view.messageIdOf(2)).toBe('m3')
    expect(b.view.userText(2)).toBe('@a and @Bob, both')
  })

  it('routes each message with the roster as it was when the message completed', () => {
    const events = [
      roster(['a', 'b']),
      user('m1', 'first'),
      roster(['a', 'b'], { defaultAgent: 'b', unaddressed: 'all' }),
      user('m2', 'second'),
      roster(['a'], { defaultAgent: 'a' }),
      user('m3', '@b are you there'),
    ]
    expect(triggersOf(replay('a', events).view)).toEqual(['m1', 'm2', 'm3'])
    // m3 mentions b after b left the roster: the default agent answers it, b does not.
    expect(triggersOf(replay('b', events).view)).toEqual(['m2'])
  })

  it('without a roster entry every message is the one agent’s, as before', () => {
    const { view } = replay('agent', [user('m1', '@someone hello'), user('m2', 'plain')])
    expect(triggersOf(view)).toEqual(['m1', 'm2'])
    expect(view.triggers.every((t) => t.depth === 0 && t.from === undefined)).toBe(true)
  })

  it("starts a hand-off turn from another agent's done record that names it, answering that agent's last step, one deeper", () => {
    const events = [
      roster(['a', 'b', 'c']),
      user('m1', '@a /relay b hello'),
      reply('a', 1, 0, 'Running something.'),
      reply('a', 1, 1, '@b hello'),
      turnRecord('a', 'm1', 1, 'streaming', { depth: 0 }),
      turnRecord('a', 'm1', 1, 'done', { depth: 0, handoffs: ['b'] }),
      // Seen twice (an upsert replayed): still one turn.
      turnRecord('a', 'm1', 1, 'done', { depth: 0, handoffs: ['b'] }),
    ]
    const b = replay('b', events)
    expect(b.view.triggers).toEqual([{ messageId: 'a:t1:s1', depth: 1, from: 'a' }])
    expect(b.notices.filter((n) => n.kind === 'handoff')).toEqual([{ kind: 'handoff', turn: 1, from: 'a' }])
    expect(b.view.userText(1)).toBe('@b hello')
    // c was not named; a does not hand off to itself.
    expect(replay('c', events).view.triggers).toEqual([])
    expect(triggersOf(replay('a', events).view)).toEqual(['m1'])
    // The model is told who wrote it (after what alice asked a); the reply stays the last block (what echo reads).
    const history = buildHistory(b.view, 1)
    expect(history).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Meanwhile in this session (not addressed to you):\nalice: @a /relay b hello\n' },
          { type: 'text', text: 'Agent @a wrote to you:\n' },
          { type: 'text', text: '@b hello' },
        ],
      },
    ])
    expect(echoPlan({ model: 'echo', system: '', messages: history, tools: [], signal: new AbortController().signal }).text).toBe(
      'Echo: hello',
    )
  })

  it('a cancelled or failed turn hands off nothing, and a record that names nobody else neither', () => {
    const events = [
      roster(['a', 'b']),
      user('m1', '@a x'),
      reply('a', 1, 0, '@b x'),
      turnRecord('a', 'm1', 1, 'cancelled', { handoffs: ['b'] }),
      user('m2', '@a y'),
      reply('a', 2, 0, 'y'),
      turnRecord('a', 'm2', 2, 'done'),
    ]
    expect(replay('b', events).view.triggers).toEqual([])
  })
})

describe("an agent's model sees what the others said since its previous turn", () => {
  it('puts people’s messages to others and the others’ finished replies before its own input', () => {
    const events = [
      roster(['a', 'b']),
      user('m1', '@b hi'),
      reply('b', 1, 0, 'Echo: hi'),
      turnRecord('b', 'm1', 1, 'done', { depth: 0 }),
      // Replayed: still one entry.
      turnRecord('b', 'm1', 1, 'done', { depth: 0 }),
      user('m2', '@a what did b say?'),
      reply('a', 1, 0, 'Echo: what did b say?'),
      user('m3', '@a and now?'),
    ]
    const { view } = replay('a', events)
    const context = 'Meanwhile in this session (not addressed to you):\nalice: @b hi\n@b: Echo: hi\n'
    expect(view.contextBefore(1)).toBe(context)
    // Nothing new between its first and second turn.
    expect(view.contextBefore(2)).toBe('')
    const history = buildHistory(view, 1)
    expect(history[0]!.content).toEqual([
      { type: 'text', text: context },
      { type: 'text', text: '@a what did b say?' },
    ])
    // The echo double answers the turn's own input (the last block).
    expect(echoPlan({ model: 'echo', system: '', messages: history, tools: [], signal: new AbortController().signal }).text).toBe(
      'Echo: what did b say?',
    )
    // b sees alice's message to it as its input, not as context (and a's reply has no done record yet).
    expect(replay('b', events).view.contextBefore(1)).toBe('')
  })

  it('a single-agent session has no context block: the model input is as before', () => {
    const { view } = replay('agent', [user('m1', 'hello'), reply('agent', 1, 0, 'Echo: hello'), user('m2', 'again')])
    expect(buildHistory(view, 2).map((m) => m.content.length)).toEqual([1, 1, 1])
  })
})

describe('hand-off records a finished turn writes', () => {
  /** Runs one turn of `agentId` over `events` to done with `answer`, returns the final record. */
  function finish(agentId: string, events: StreamEvent[], turn: number, answer: string): AgentTurn {
    const view = new SessionView(agentId)
    for (const e of events) view.apply(e)
    const published: AgentTurn[] = []
    const recorder = new TurnRecorder({ publish: (_c, v) => published.push(v as unknown as AgentTurn), now: () => ++ts }, view, agentId)
    recorder.accept(turn)
    view.apply(reply(agentId, turn, 0, answer))
    recorder.update(turn, 'done')
    return published.at(-1)!
  }

  it('names the agents the reply mentions, with its depth and who handed it on', () => {
    const events = [roster(['a', 'b', 'c']), user('m1', '@a go')]
    const record = finish('a', events, 1, '@b and @c, over to you (and @a, me)')
    expect(record).toMatchObject({ id: 'turn:m1@a', agentId: 'a', depth: 0, status: 'done', handoffs: ['b', 'c'] })
    expect(record.handoffRefused).toBeUndefined()
  })

  it('writes accepted first for a hand-off, then the final record with from and depth', () => {
    const events = [
      roster(['a', 'b']),
      user('m1', '@a go'),
      reply('a', 1, 0, '@b hello'),
      turnRecord('a', 'm1', 1, 'done', { depth: 0, handoffs: ['b'] }),
    ]
    const view = new SessionView('b')
    for (const e of events) view.apply(e)
    const published: AgentTurn[] = []
    const recorder = new TurnRecorder({ publish: (_c, v) => published.push(v as unknown as AgentTurn), now: () => ++ts }, view, 'b')
    recorder.accept(1)
    recorder.accept(1)
    view.apply(reply('b', 1, 0, 'Echo: hello'))
    recorder.update(1, 'done')
    expect(published.map((r) => r.status)).toEqual(['accepted', 'done'])
    expect(published[0]).toMatchObject({ id: 'turn:a:t1:s0@b', messageId: 'a:t1:s0', agentId: 'b', depth: 1, from: 'a' })
    expect(published[1]!.handoffs).toBeUndefined()
  })

  it('refuses a hand-off past the cap and says why; a person’s message starts again at depth 0', () => {
    // maxAgentTurnsInARow 2: a (0) → b (1) → a (2) → b would be 3.
    const events = [
      roster(['a', 'b']),
      user('m1', '@a /pingpong a b'),
      reply('a', 1, 0, '@b /pingpong b a'),
      turnRecord('a', 'm1', 1, 'done', { depth: 0, handoffs: ['b'] }),
      reply('b', 1, 0, '@a /pingpong a b'),
      turnRecord('b', 'a:t1:s0', 1, 'done', { depth: 1, from: 'a', handoffs: ['a'] }),
    ]
    const a = new SessionView('a')
    for (const e of events) a.apply(e)
    expect(a.triggers).toEqual([
      { messageId: 'm1', depth: 0 },
      { messageId: 'b:t1:s0', depth: 2, from: 'b' },
    ])
    const record = finish('a', events, 2, '@b /pingpong b a')
    expect(record.handoffs).toBeUndefined()
    expect(record.handoffRefused).toEqual({ to: ['b'], reason: expect.stringMatching(/cap reached: 2 agent turns in a row/) })
    // A person's message after it: depth 0 again, hand-offs allowed.
    const next = finish('a', [...events, user('m2', '@a again')], 3, '@b hi')
    expect(next).toMatchObject({ messageId: 'm2', depth: 0, handoffs: ['b'] })
  })

  it('the single agent `agent` keeps issue #10 ids and hands off to nobody', () => {
    const record = finish('agent', [user('m1', 'hello @agent')], 1, 'Echo: hello @agent')
    expect(record).toMatchObject({ id: 'turn:m1', agentId: 'agent', depth: 0, status: 'done' })
    expect(record.handoffs).toBeUndefined()
    expect(record.handoffRefused).toBeUndefined()
  })
})

describe('echo test commands for agents', () => {
  const plan = (text: string) =>
    echoPlan({
      model: 'echo',
      system: '',
      messages: [{ role: 'user', content: [{ type: 'text', text }] }],
      tools: [],
      signal: new AbortController().signal,
    })
  it('drops leading mentions, relays and plays ping-pong', () => {
    expect(stripLeadingMentions('@a, @b: hi @c')).toBe('hi @c')
    expect(plan('@b /count 3').text).toBe('1 2 3')
    expect(plan('@a /relay b hello there').text).toBe('@b hello there')
    expect(plan('@a /pingpong a b').text).toBe('@b /pingpong b a')
    expect(plan('@a /slow /relay b hi')).toMatchObject({ text: '@b hi', slow: true })
    expect(plan('@b hi').text).toBe('Echo: hi')
  })
})
