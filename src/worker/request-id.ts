/**
 * The worker's half of request ids (issue #12, specs/operations.md "Logs and traces"). While a
 * turn runs, every call the worker makes to the server (model gateway steps, stream appends)
 * carries `x-request-id: turn:<messageId>` (`turn:<messageId>@<agentId>` for an agent other than
 * the default: issue #15), the turn record's own id. The server logs
 * `turn accepted` with the request id of the request that posted the message and that turn id,
 * so one grep leads from the user's request to everything the worker did for it. Between turns
 * (heartbeats, terminal output) no id is sent and the server makes one per request.
 *
 * One holder per hosted agent: a worker hosting several agents runs their turns at once, and
 * each agent's publisher and gateway calls carry that agent's turn, not whichever began last.
 */
import { turnIdFor } from '../lib/common/agent-roster'
import { headerRecord } from './http-fetch'

const WELL_FORMED = /^[A-Za-z0-9._:@/+=-]{1,128}$/

export class TurnRequestId {
  private current: string | undefined

  /** The turn being worked on (its trigger message id and the agent), or undefined between turns. */
  set(messageId: string | undefined, agentId?: string): void {
    const id = messageId === undefined ? undefined : turnIdFor(messageId, agentId)
    // An id the server would refuse is not sent at all (it would make its own anyway).
    this.current = id !== undefined && WELL_FORMED.test(id) ? id : undefined
  }

  get(): string | undefined {
    return this.current
  }

  /** `fetchImpl` that adds the current turn's x-request-id (unless the caller set one). */
  wrap(fetchImpl: typeof fetch): typeof fetch {
    return (input, init) => {
      const id = this.current
      if (id === undefined) return fetchImpl(input, init)
      // A plain record, not `new Headers()`: the web Headers class is undici's, and loading it
      // costs every worker ~12 MiB (http-fetch.ts). The worker's callers pass string URLs.
      const headers = headerRecord(init?.headers)
      headers['x-request-id'] ??= id
      return fetchImpl(input, { ...init, headers })
    }
  }
}

/** The holder of callers that name none (a single-agent worker's one agent). */
const shared = new TurnRequestId()

export function setTurnRequestId(messageId: string | undefined, agentId?: string): void {
  shared.set(messageId, agentId)
}

export function turnRequestId(): string | undefined {
  return shared.get()
}

export function withTurnRequestId(fetchImpl: typeof fetch, holder: TurnRequestId = shared): typeof fetch {
  return holder.wrap(fetchImpl)
}
