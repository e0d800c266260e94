/**
 * The gateway's one core, shared by every wire format (`POST /api/sessions/<id>/model`, NDJSON;
 * the native Anthropic and OpenAI endpoints, native.ts): authorise the caller, resolve the calling
 * agent, check the session's and the agent's limits against the ledger, pick the provider, call it,
 * and settle the call in the ledger. Refusals are values (the wire decides how to say them);
 * input errors (403 role, 404 session, 400 body) are thrown as HttpError like everywhere else.
 */
import type { Logger } from '../common/logger'
import type { Authenticator } from '../sessions/auth'
import { requireSession } from '../sessions/auth'
import { HttpError } from '../sessions/http'
import { agentLimitStops } from '../sessions/agent-limit-stops'
import type { SessionManager } from '../sessions/manager'
import type { SessionRecord } from '../sessions/session-types'
import type { TokenClaims } from '../sessions/tokens'
import { callingAgent, type CallingAgent } from './calling-agent'
import type { Ledger, OwnerSpendLimit } from './ledger'
import { costUsd, estimateTokens, priceOf, type ModelPrice, type PriceTable } from './pricing'
import { selectProvider, type ProviderEnv, type SelectedProvider } from './providers'
import { DEFAULT_MAX_TOKENS, requestChars, type StepRequestBody } from './request'
import { ProviderError, type StepEvent } from './types'

export interface ModelGatewayOptions {
  manager: SessionManager
  auth: Authenticator
  /** SQLite's ModelLedger or PostgreSQL's PgModelLedger: every answer is awaited. */
  ledger: Ledger
  prices: PriceTable
  /** The server's provider settings and keys. */
  providerEnv: ProviderEnv
  logger: Logger
  /** For tests: how providers reach their APIs. */
  fetch?: typeof fetch
  /** Provider settings for one agent's calls, laid over the server's (a personal agent's own credential, issue #11). */
  providerEnvFor?: (session: SessionRecord, agentId: string) => Promise<ProviderEnv | null>
  /** A refusal before any provider call (a per-user quota); null lets the call go on. */
  refuseCall?: (session: SessionRecord, agentId: string) => Promise<{ status: number; error: string; reason: string } | null>
  /** The session owner's monthly spend limit, checked atomically with the reservation (null: none). */
  spendLimit?: (session: SessionRecord) => Promise<SpendLimit | null>
}

/** A person's spend limit for the ledger, and the refusal to answer once it is reached. */
export interface SpendLimit extends OwnerSpendLimit {
  refusal(spentUsd: number): { status: number; error: string; reason: string }
}

/** A call refused before any provider request; `extra` carries the numbers (spent, budget…). */
export interface Refusal {
  status: number
  error: string
  reason: string
  extra: Record<string, unknown>
}

/** One provider call under way: StepEvents (an `error` one last on failure), then null. */
export interface CallStream {
  next(): Promise<StepEvent | null>
  /** The caller went away: abort the provider request and settle the call as aborted. */
  cancel(): void
}

export type CallResult = { ok: true; call: CallStream; model: string; maxTokens: number } | { ok: false; refusal: Refusal }

export interface GatewayCore {
  /** The worker of session `id` only (every caller with auth off), on a live session. */
  authorise(claims: TokenClaims, id: string): Promise<void>
  /** The session (usage re-folded) and its calling agent. */
  resolve(claims: TokenClaims, id: string, requestedModel: string): Promise<{ session: SessionRecord; agent: CallingAgent }>
  /**
   * Checks limits and calls the provider. `anyModel`: serve the calling agent's model whatever the
   * body names (the native endpoints); else a model other than the agent's is 403.
   */
  call(req: Request, claims: TokenClaims, id: string, body: StepRequestBody, anyModel: boolean): Promise<CallResult>
}

const usd = (n: number) => `$${n.toFixed(6).replace(/0+$/, '').replace(/\.$/, '')}`

/** Provider messages can quote the request back; never let one carry a key to a worker. */
function redact(message: string, secrets: string[]): string {
  let out = message
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]')
  return out
}

/** The credentials of a provider env (the server's, or an agent's own: issue #11). */
function secretsOf(env: ProviderEnv): string[] {
  return [env.ANTHROPIC_API_KEY, env.TETHER_OPENAI_API_KEY].filter((s): s is string => Boolean(s))
}

const refusal = (status: number, reason: string, error: string, extra: Record<string, unknown> = {}): CallResult => ({
  ok: false,
  refusal: { status, error, reason, extra },
})

export function createGatewayCore(opts: ModelGatewayOptions): GatewayCore {
  const { manager, auth, ledger, prices, providerEnv, logger } = opts
  const secrets = secretsOf(providerEnv)

  /** Ends the session with a limit reason (like the monitor). The record flips before end's first await. */
  const endFor = (id: string, limit: 'budget' | 'turns') => {
    void manager
      .end(id, 'terminated', `limit:${limit}`, 'gateway')
      .catch((err: unknown) => logger.error({ err, sessionId: id }, 'could not end a session past its limit'))
  }

  const stops = agentLimitStops(manager, logger)
  /** Stops one agent past its own limit (the session goes on). */
  const stopAgent = (id: string, agent: CallingAgent, limit: 'budget' | 'turns') => {
    const value = limit === 'budget' ? agent.limits.maxBudgetUsd : agent.limits.maxTurns
    void stops.stop(id, agent.id, `limit:agent-${limit}`, value ?? 0, 'gateway')
  }

  /**
   * After a call: fold the ledger into the record, end the session once its budget is used up,
   * and stop the calling agent once its own is.
   */
  const afterCall = async (session: SessionRecord, agent: CallingAgent) => {
    const budget = session.limits.maxBudgetUsd
    if (budget !== null && (await ledger.totals(session.id)).costUsd >= budget) endFor(session.id, 'budget')
    else if (agent.limits.maxBudgetUsd !== null && (await ledger.agentTotals(session.id, agent.id)).costUsd >= agent.limits.maxBudgetUsd)
      stopAgent(session.id, agent, 'budget')
    void manager
      .refresh(session.id)
      .catch((err: unknown) => logger.warn({ err, sessionId: session.id }, 'could not refresh usage after a model call'))
  }

  const authorise = async (claims: TokenClaims, id: string) => {
    // With auth off every caller is admin (and the server says so loudly): no roles to check.
    if (auth.enabled) requireSession(claims, id, ['worker'])
    await manager.requireLive(id)
  }

  const resolve = async (claims: TokenClaims, id: string, requestedModel: string) => {
    // Usage (turns) re-folded from the stream: the turn check must see the latest.
    const session = await manager.refresh(id)
    if (!session) throw new HttpError(404, `unknown session ${id}`, 'sessionId')
    return { session, agent: callingAgent(session, claims.sub, requestedModel, auth.enabled) }
  }

  const call = async (req: Request, claims: TokenClaims, id: string, body: StepRequestBody, anyModel: boolean): Promise<CallResult> => {
    const { session, agent } = await resolve(claims, id, body.model)
    const expected = agent.model
    if (body.model !== expected) {
      if (anyModel)
        logger.debug(
          { sessionId: id, agentId: agent.id, asked: body.model, served: expected },
          'native model call: serving the agent model',
        )
      else {
        const whose = session.agents.length > 1 ? `agent ${agent.id}'s model` : "its session's model"
        throw new HttpError(403, `a worker may only call ${whose} (${expected}), not ${body.model}`, 'model')
      }
    }

    // An agent's own provider settings (issue #11) are laid over the server's; its keys are
    // redacted like the server's.
    const own = (await opts.providerEnvFor?.(session, agent.id)) ?? null
    const env: ProviderEnv = own ? { ...providerEnv, ...own } : providerEnv
    const callSecrets = own ? [...secrets, ...secretsOf(own)] : secrets
    let selected: SelectedProvider
    try {
      selected = selectProvider(expected, env, opts.fetch)
    } catch (err) {
      if (err instanceof ProviderError) return refusal(503, 'provider', redact(err.message, callSecrets))
      throw err
    }
    const priced = `${selected.provider.name}:${selected.model}`
    const price = priceOf(prices, selected.provider.name, selected.model)
    if (!price) {
      const error = `no price for model ${priced}: the server refuses calls it cannot count; set TETHER_MODEL_PRICES (a free local model: {"${priced}": {"inputPerMTokUsd": 0, "outputPerMTokUsd": 0}})`
      await ledger.refuse(id, priced, 0, error, agent.id)
      return refusal(503, 'price', error)
    }

    const maxTokens = body.maxTokens ?? DEFAULT_MAX_TOKENS
    const inputTokens = estimateTokens(requestChars(body))
    const estimateUsd = costUsd(price, inputTokens, maxTokens)

    // Turns are counted per user message (agent-state `turns`, the monitor's check), not per
    // model call: a session at its limit gets no further call, nothing is counted twice.
    const { maxTurns, maxBudgetUsd } = session.limits
    if (maxTurns !== null && session.usage.turns >= maxTurns) {
      const error = `turn limit reached (${session.usage.turns} of ${maxTurns}); the session is ending`
      await ledger.refuse(id, priced, estimateUsd, error, agent.id)
      endFor(id, 'turns')
      return refusal(402, 'turns', error, { turns: session.usage.turns, maxTurns })
    }
    // The agent's own turns: its agent-state entry in the fold (refresh above read the stream).
    const agentMaxTurns = agent.limits.maxTurns
    const agentTurns = manager.logs.peek(id)?.agents.get(agent.id)?.turns ?? 0
    if (agentMaxTurns !== null && agentTurns >= agentMaxTurns) {
      const error = `agent ${agent.id}: turn limit reached (${agentTurns} of ${agentMaxTurns}); the agent is stopping, the session goes on`
      await ledger.refuse(id, priced, estimateUsd, error, agent.id)
      stopAgent(id, agent, 'turns')
      return refusal(402, 'agent-turns', error, { agentId: agent.id, turns: agentTurns, maxTurns: agentMaxTurns })
    }
    const refused = (await opts.refuseCall?.(session, agent.id)) ?? null
    if (refused) {
      await ledger.refuse(id, priced, estimateUsd, refused.error, agent.id)
      return refusal(refused.status, refused.reason, refused.error)
    }
    const spendLimit = (await opts.spendLimit?.(session)) ?? undefined
    const reservation = await ledger.reserve(id, priced, estimateUsd, maxBudgetUsd, { agentId: agent.id, budgetUsd: agent.limits.maxBudgetUsd }, spendLimit)
    if (!reservation.ok && reservation.over === 'owner' && spendLimit) {
      const over = spendLimit.refusal(reservation.ownerSpentUsd)
      await ledger.refuse(id, priced, estimateUsd, over.error, agent.id)
      return refusal(over.status, over.reason, over.error)
    }
    if (!reservation.ok && reservation.over === 'agent') {
      const agentBudget = agent.limits.maxBudgetUsd ?? 0
      const error =
        `agent ${agent.id}: budget: this call may cost up to ${usd(estimateUsd)} (${inputTokens} input tokens estimated, ${maxTokens} output tokens at most, ${priced}); ` +
        `${usd(reservation.agentSpentUsd)} of the agent's ${usd(agentBudget)} is spent; the agent is stopping, the session goes on`
      await ledger.refuse(id, priced, estimateUsd, error, agent.id)
      stopAgent(id, agent, 'budget')
      logger.info(
        { sessionId: id, agentId: agent.id, model: priced, estimateUsd, spentUsd: reservation.agentSpentUsd, budgetUsd: agentBudget },
        'model call refused: agent budget',
      )
      return refusal(402, 'agent-budget', error, {
        agentId: agent.id,
        spentUsd: reservation.agentSpentUsd,
        estimateUsd,
        budgetUsd: agentBudget,
      })
    }
    if (!reservation.ok) {
      const error =
        `budget: this call may cost up to ${usd(estimateUsd)} (${inputTokens} input tokens estimated, ${maxTokens} output tokens at most, ${priced}); ` +
        `${usd(reservation.spentUsd)} of the session's ${usd(maxBudgetUsd ?? 0)} is spent; the session is ending`
      await ledger.refuse(id, priced, estimateUsd, error, agent.id)
      endFor(id, 'budget')
      logger.info(
        { sessionId: id, model: priced, estimateUsd, spentUsd: reservation.spentUsd, budgetUsd: maxBudgetUsd },
        'model call refused: budget',
      )
      return refusal(402, 'budget', error, { spentUsd: reservation.spentUsd, estimateUsd, budgetUsd: maxBudgetUsd })
    }
    const stream = startCall({
      body,
      session,
      agent,
      selected,
      price,
      maxTokens,
      inputTokens,
      callId: reservation.callId,
      req,
      secrets: callSecrets,
    })
    return { ok: true, call: stream, model: expected, maxTokens }
  }

  function startCall(c: {
    body: StepRequestBody
    session: SessionRecord
    agent: CallingAgent
    selected: SelectedProvider
    price: ModelPrice
    maxTokens: number
    inputTokens: number
    callId: number
    req: Request
    secrets: string[]
  }): CallStream {
    const controller = new AbortController()
    const onClientGone = () => controller.abort(new Error('the worker went away'))
    c.req.signal.addEventListener('abort', onClientGone, { once: true })
    let settled = false
    let done = false
    let events = 0
    let streamedChars = 0
    let usage: { inputTokens: number; outputTokens: number; costUsd: number } | null = null

    /** What a call that ended without usage cost, at most: its input and what it streamed. */
    const fallbackUsage = () => {
      if (events === 0) return { inputTokens: 0, outputTokens: 0, costUsd: 0 }
      const outputTokens = estimateTokens(streamedChars)
      return { inputTokens: c.inputTokens, outputTokens, costUsd: costUsd(c.price, c.inputTokens, outputTokens) }
    }
    /** Settles once; never rejects (a failed ledger write is logged: the caller's answer stands). */
    const settle = async (status: 'ok' | 'error' | 'aborted', error?: string): Promise<void> => {
      if (settled) return
      settled = true
      c.req.signal.removeEventListener('abort', onClientGone)
      const u = usage ?? fallbackUsage()
      try {
        await ledger.settle(c.callId, { status, ...u, ...(error ? { error } : {}) })
        await afterCall(c.session, c.agent)
      } catch (err) {
        logger.error({ err, sessionId: c.session.id, callId: c.callId }, 'could not settle a model call in the ledger')
      }
    }

    const iterator = c.selected.provider
      .step({
        model: c.selected.model,
        system: c.body.system,
        messages: c.body.messages,
        tools: c.body.tools,
        ...(c.body.prefill !== undefined ? { prefill: c.body.prefill } : {}),
        maxTokens: c.maxTokens,
        signal: controller.signal,
      })
      [Symbol.asyncIterator]()

    return {
      async next() {
        if (done) return null
        try {
          const next = await iterator.next()
          if (next.done) {
            done = true
            await settle('ok')
            return null
          }
          events++
          const event = next.value
          if (event.type === 'text') streamedChars += event.text.length
          if (event.type !== 'usage') return event
          const { inputTokens, outputTokens, reportedCostUsd } = event.usage
          usage = { inputTokens, outputTokens, costUsd: reportedCostUsd ?? costUsd(c.price, inputTokens, outputTokens) }
          return { type: 'usage', usage }
        } catch (err) {
          done = true
          const aborted = controller.signal.aborted
          const message = redact(err instanceof Error ? err.message : String(err), c.secrets)
          await settle(aborted ? 'aborted' : 'error', message)
          if (!aborted) logger.warn({ sessionId: c.session.id, error: message }, 'model call failed')
          return { type: 'error', error: message }
        }
      },
      cancel() {
        done = true
        controller.abort(new Error('the worker went away'))
        void settle('aborted', 'the worker went away')
        void iterator.return?.().catch(() => {})
      },
    }
  }

  return { authorise, resolve, call }
}
