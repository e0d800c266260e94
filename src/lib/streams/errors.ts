/** A protocol-level refusal: status, machine code, human reason, and any protocol headers. */
export class ProtocolError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'ProtocolError'
  }
}

export const notFound = (what = 'Stream not found') => new ProtocolError(404, 'NOT_FOUND', what)
export const gone = () => new ProtocolError(410, 'GONE', 'Stream was deleted; its data is kept only for its forks')
export const badRequest = (code: string, message: string) => new ProtocolError(400, code, message)
export const conflict = (code: string, message: string, headers: Record<string, string> = {}) =>
  new ProtocolError(409, code, message, headers)
