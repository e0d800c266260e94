import './zod-csp'
import { createRouter } from '@tanstack/react-router'
import { getGlobalStartContext } from '@tanstack/react-start'
import { routeTree } from './routeTree.gen'

/** This request's CSP nonce (set by the middleware in start.ts); undefined in the browser. */
function requestNonce(): string | undefined {
  if (typeof window !== 'undefined') return undefined
  try {
    const context = getGlobalStartContext() as { cspNonce?: unknown } | undefined
    return typeof context?.cspNonce === 'string' ? context.cspNonce : undefined
  } catch {
    // Outside a request (no middleware context): no nonce, so the CSP blocks inline scripts.
    return undefined
  }
}

export function getRouter() {
  const nonce = requestNonce()
  return createRouter({ routeTree, scrollRestoration: true, defaultPreload: 'intent', ...(nonce ? { ssr: { nonce } } : {}) })
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof getRouter>
  }
}
