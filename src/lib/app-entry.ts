/**
 * The one place route files reach the running app. Module state lives in src/lib/app.ts, not in
 * route files, because Start's code splitting would give each route its own copy.
 */
import { getTetherApp } from './app'

export function handleTetherRequest(req: Request): Promise<Response> {
  return getTetherApp().fetch(req)
}
