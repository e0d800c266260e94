/**
 * A JSON answer whose body srvx's Node adapter writes as one string with Content-Length (its
 * FastResponse), for the session writer's hot path. A global `Response` built from a string
 * carries a web ReadableStream that srvx reads chunk by chunk and sends with chunked encoding:
 * about a quarter of the app's time per write (specs/benchmarks.md, "the app's write path").
 * Anything that reads it as a web Response (tests, middleware, another server) still can: it
 * becomes a real Response on first use of its body.
 */
import { FastResponse } from 'srvx/node'
import { JSON_ANSWER_HEADERS } from './http'

// Why the cast: FastResponse has the instance surface of Response (status, headers, body, json()...) but not its statics.
const JsonResponse = FastResponse as unknown as typeof Response

/** Same status, headers and bytes as http.ts `json()`. */
export function jsonAnswer(body: unknown, status = 200): Response {
  return new JsonResponse(JSON.stringify(body), { status, headers: { ...JSON_ANSWER_HEADERS } })
}
