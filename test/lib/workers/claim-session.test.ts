/**
 * What a warm claim carries of the session (issue #13): the worker starts from it exactly as it
 * would from the record it used to fetch, and it carries nothing the worker does not read. Also:
 * containers run the worker with the same node memory flags as process workers.
 */
import { describe, expect, it } from 'vitest'
import type { SessionRecord } from '../../../src/lib/sessions/session-types'
import { claimSessionOf } from '../../../src/lib/workers/claim-session'
import { WORKER_NODE_FLAGS } from '../../../src/lib/workers/runtime'
import { containerSpec } from '../../../src/lib/workers/runtimes/docker-container-spec'
import { parseClaimLine, sessionSetupFrom } from '../../../src/worker/session-config'

const limits = { maxIdleTimeMs: null, maxLifetimeMs: null, maxBudgetUsd: null, maxTurns: null }
const agentLimits = { maxBudgetUsd: 5, maxTurns: null }

function record(overrides: Partial<SessionRecord>): SessionRecord {
  return {
    id: 'sess_claim',
    pattern: 'long-running',
    status: 'active',
    title: 'a private title',
    agent: { model: 'echo' },
    agents: [{ id: 'agent', name: 'agent', model: 'echo', limits: agentLimits }],
    routing: { defaultAgent: 'agent', unaddressed: 'default', maxAgentTurnsInARow: 10 },
    limits,
    usage: { tokensIn: 1, tokensOut: 2, costUsd: 0.5, turns: 1, lastActivityAt: 1 },
    metadata: { team: 'secret-project' },
    createdBy: 'alice',
    createdAt: 1,
    updatedAt: 1,
    endedAt: null,
    endReason: null,
    streamPath: 'sessions/sess_claim',
    forkedFrom: null,
    ...overrides,
  }
}

const records: Record<string, SessionRecord> = {
  'one echo agent': record({}),
  'a prompt, tools and a provider': record({
    agent: { model: 'gpt-x', provider: 'openai', systemPrompt: 'be brief', allowedTools: ['shell', 'read_file'] },
    agents: [
      {
        id: 'agent',
        name: 'agent',
        model: 'gpt-x',
        provider: 'openai',
        systemPrompt: 'be brief',
        allowedTools: ['shell', 'read_file'],
        limits: agentLimits,
      },
    ],
  }),
  'single-container with three agents and another default': record({
    pattern: 'single-container',
    agent: { model: 'echo', adapter: 'opencode' },
    agents: [
      { id: 'writer', name: 'Writer', model: 'echo', adapter: 'opencode', profileId: 'prof_1', limits: agentLimits },
      { id: 'critic', name: 'Critic', model: 'claude-x', systemPrompt: 'find faults', limits: agentLimits },
      { id: 'tester', name: 'Tester', model: 'echo', allowedTools: ['shell'], limits: agentLimits },
    ],
    routing: { defaultAgent: 'critic', unaddressed: 'all', maxAgentTurnsInARow: 3 },
  }),
  'an ephemeral session': record({ pattern: 'ephemeral' }),
}

describe('the session setup a warm claim carries', () => {
  for (const [name, session] of Object.entries(records)) {
    it(`gives the worker the setup the record gives: ${name}`, () => {
      // The record as GET /api/sessions/<id> answers it, against the claim line's copy.
      const fetched = sessionSetupFrom(JSON.parse(JSON.stringify({ session, streamUrl: '/x' })))
      const line = JSON.stringify({
        sessionId: session.id,
        serverUrl: 'http://127.0.0.1:1',
        token: 'a.b.c',
        session: claimSessionOf(session),
      })
      const claimed = parseClaimLine(line)
      expect(claimed.identity).toEqual({ sessionId: session.id, serverUrl: 'http://127.0.0.1:1', token: 'a.b.c' })
      expect(claimed.session).toBeDefined()
      expect(sessionSetupFrom(claimed.session)).toEqual(fetched)
    })
  }

  it('leaves out what the worker does not read (title, metadata, usage, creator, limits, profile ids)', () => {
    const text = JSON.stringify(claimSessionOf(records['single-container with three agents and another default']!))
    for (const absent of ['a private title', 'secret-project', 'alice', 'prof_1', 'maxBudgetUsd', 'tokensIn', 'streamPath']) {
      expect(text).not.toContain(absent)
    }
  })

  it('a claim line without a session (an older server) still parses, and the worker then fetches the record', () => {
    expect(parseClaimLine('{"sessionId":"s","serverUrl":"http://x","token":"t"}')).toEqual({
      identity: { sessionId: 's', serverUrl: 'http://x', token: 't' },
    })
    expect(parseClaimLine('{"sessionId":"s","serverUrl":"http://x","token":"t","session":[1]}').session).toBeUndefined()
  })
})

describe('worker node flags', () => {
  it('a worker container runs node with the same memory flags as a process worker', () => {
    const spec = containerSpec({
      name: 'tether-warm-x',
      image: 'tether-worker:latest',
      owner: { instanceId: 'i', runId: 'r' },
      network: 'none',
      limits: { memoryBytes: 512 * 1024 * 1024, nanoCpus: 1e9, pidsLimit: 256 },
      claim: undefined,
      volume: 'v',
    })
    expect(WORKER_NODE_FLAGS.some((f) => f.startsWith('--max-semi-space-size='))).toBe(true)
    expect(spec.Entrypoint).toEqual(['/usr/local/bin/node', ...WORKER_NODE_FLAGS, '/app/worker.cjs'])
    // Flags, not NODE_OPTIONS: programs the worker starts must not inherit them.
    expect((spec.Env ?? []).some((e) => e.startsWith('NODE_OPTIONS='))).toBe(false)
  })
})
