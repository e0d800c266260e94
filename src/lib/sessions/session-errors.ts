/**
 * What the session layer refuses, as domain errors: the manager and the session log throw these,
 * and only the HTTP adapters (http.ts errorResponse, used by sessions-api, writer and the protocol
 * gate) turn them into statuses. `field` names the input the error is about, for `{ field }` in
 * an answer.
 */

export abstract class SessionError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message)
    this.name = new.target.name
  }
}

/** No session with this id. */
export class SessionNotFoundError extends SessionError {
  constructor(
    readonly sessionId: string,
    field = 'sessionId',
  ) {
    super(`unknown session ${sessionId}`, field)
  }
}

/** The session exists but has ended (completed, failed, terminated): it takes no more writes. */
export class SessionEndedError extends SessionError {
  constructor(
    readonly sessionId: string,
    readonly reason: string,
  ) {
    super(`session ${sessionId} has ended (${reason})`, 'sessionId')
  }
}

/** The session's stream was closed under a write. */
export class SessionStreamClosedError extends SessionError {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId}: stream is closed`)
  }
}

/** The session's stream no longer exists (deleted under a write). */
export class SessionStreamGoneError extends SessionError {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId}: stream no longer exists`, 'sessionId')
  }
}

/** An event the session layer itself was asked to build is not valid. */
export class InvalidSessionEventError extends SessionError {}

/** A chunk into a message someone else started; `index` is the event's place in its batch. */
export class MessageAuthorshipError extends SessionError {
  constructor(
    readonly index: number,
    readonly messageId: string,
  ) {
    super(`message ${messageId} was started by someone else: append only to messages you started`, `[${index}].messageId`)
  }
}

/** A change to a session's agents that its current list does not allow (duplicate id, last agent, too many). */
export class AgentListConflictError extends SessionError {}

/** The session has no agent with this id. */
export class UnknownAgentError extends SessionError {
  constructor(readonly agentId: string) {
    super(`the session has no agent ${agentId}`, 'agentId')
  }
}
