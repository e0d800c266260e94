/**
 * The one place route files reach the running app. Module state lives in src/lib/tether-server.ts, not in
 * route files, because Start's code splitting would give each route its own copy.
 */
import { getTetherServer } from './tether-server'

export function handleTetherRequest(req: Request): Promise<Response> {
  return getTetherServer().fetch(req)
}
