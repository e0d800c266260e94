/** Which agent calls the model gateway (issue #15): the worker's subject, its model and limits. */
import { describe, expect, it } from 'vitest'
import { callingAgent } from '../../../src/lib/gateway/calling-agent'
import { HttpError } from '../../../src/lib/sessions/http'
import type { SessionAgent, SessionRecord } from '../../../src/lib/sessions/session-types'

const agent = (id: string, model: string, maxTurns: number | null = null): SessionAgent => ({
  id,
  name: id,
  model,
  limits: { maxBudgetUsd: null, maxTurns },
})
const routing = (defaultAgent: string): SessionRecord['routing'] => ({ defaultAgent, unaddressed: 'default', maxAgentTurnsInARow: 4 })
const several = { agent: { model: 'echo' }, agents: [agent('a', 'echo'), agent('b', 'anthropic:claude-haiku-4-5', 3)], routing: routing('a') }

describe('callingAgent', () => {
  it("is the subject's agent, with that agent's model and limits", () => {
    expect(callingAgent(several, 'b', 'echo', true)).toEqual({
      id: 'b',
      model: 'anthropic:claude-haiku-4-5',
      limits: { maxBudgetUsd: null, maxTurns: 3 },
    })
  })

  it('refuses (403) a subject that is not on the list, naming it and the agents', () => {
    const err = (() => {
      try {
        callingAgent(several, 'zed', 'echo', true)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(HttpError)
    expect(err).toMatchObject({ status: 403, message: expect.stringContaining('worker zed is not an agent of this session (agents: a, b)') })
    expect(() => callingAgent(several, undefined, 'echo', true)).toThrow(/\(no subject\)/)
  })

  it("keeps seed 001's rule for a single-agent session: any subject is `agent`, calling the session's model", () => {
    const single = { agent: { provider: 'openai', model: 'llama3' }, agents: [agent('agent', 'openai:llama3', 2)], routing: routing('agent') }
    expect(callingAgent(single, 'agent-s1', 'x', true)).toEqual({ id: 'agent', model: 'openai:llama3', limits: { maxBudgetUsd: null, maxTurns: 2 } })
    // No model at all (no agent list): the default model, no limits.
    expect(callingAgent({ agent: {}, agents: [], routing: routing('agent') }, 'w', 'echo', true)).toMatchObject({ id: 'agent', model: 'echo' })
  })

  it('with auth off (no subject) picks the agent whose model was asked for, the default agent first', () => {
    const twins = { agent: { model: 'echo' }, agents: [agent('a', 'echo'), agent('b', 'echo'), agent('c', 'echo:c')], routing: routing('b') }
    expect(callingAgent(twins, undefined, 'echo', false).id).toBe('b')
    expect(callingAgent(twins, undefined, 'echo:c', false).id).toBe('c')
    // Nobody's model: the default agent (the gateway then refuses the model, 403).
    expect(callingAgent(twins, undefined, 'echo:zzz', false)).toMatchObject({ id: 'b', model: 'echo' })
  })
})
