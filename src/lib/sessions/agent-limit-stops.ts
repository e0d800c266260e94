/**
 * Stops one agent of a session that passed its own limit (issue #15): a `stop` control addressed
 * to that agent (`agentId`, reason `limit:agent-budget` / `limit:agent-turns`) instead of ending
 * the session, so the other agents keep working. The gateway (on a refused or a budget-filling
 * call) and the monitor (turns) share one instance per manager, and each (session, agent, reason,
 * limit) is stopped once per process: the gateway refuses every further call past the limit
 * anyway, and the monitor checks again on every tick. A raised limit (PATCH) is a new key, so
 * passing it again stops the agent again.
 */
import type { Logger } from '../common/logger'
import type { SessionManager } from './manager'

export type AgentLimitReason = 'limit:agent-budget' | 'limit:agent-turns'

/** Keys kept before the memo starts over (one a stopped agent: a restart forgets them too). */
const MAX_REMEMBERED = 10_000

export class AgentLimitStops {
  private readonly done = new Set<string>()

  constructor(
    private readonly manager: Pick<SessionManager, 'stopAgent'>,
    private readonly logger: Logger,
  ) {}

  /**
   * Appends the stop control unless this one was already sent; resolves true when it wrote one.
   * Never throws: a session that ended meanwhile needs no agent stopped (a failed write is tried
   * again on the next call).
   */
  async stop(sessionId: string, agentId: string, reason: AgentLimitReason, limit: number, requestedBy: string): Promise<boolean> {
    const key = `${sessionId}\u0000${agentId}\u0000${reason}\u0000${limit}`
    if (this.done.has(key)) return false
    if (this.done.size >= MAX_REMEMBERED) this.done.clear()
    this.done.add(key)
    try {
      await this.manager.stopAgent(sessionId, agentId, reason, requestedBy)
      this.logger.info({ sessionId, agentId, reason, limit }, 'agent stopped at its limit')
      return true
    } catch (err) {
      this.done.delete(key)
      this.logger.warn({ err, sessionId, agentId, reason }, 'could not stop an agent past its limit')
      return false
    }
  }
}

const perManager = new WeakMap<object, AgentLimitStops>()

/** The one instance of `manager` (the gateway and the monitor are built apart, in tether-server.ts). */
export function agentLimitStops(manager: Pick<SessionManager, 'stopAgent'>, logger: Logger): AgentLimitStops {
  let stops = perManager.get(manager)
  if (!stops) {
    stops = new AgentLimitStops(manager, logger)
    perManager.set(manager, stops)
  }
  return stops
}
