/**
 * The one place route files reach the running app. Module state lives here, not in route
 * files, because Start's code splitting would give each route its own copy.
 */
type FetchHandler = (req: Request) => Promise<Response>

let appPromise: Promise<FetchHandler> | undefined

async function loadApp(): Promise<FetchHandler> {
  const { getTetherApp } = await import('./app')
  const app = await getTetherApp()
  return (req) => app.fetch(req)
}

export async function handleTetherRequest(req: Request): Promise<Response> {
  appPromise ??= loadApp()
  const handle = await appPromise
  return handle(req)
}
