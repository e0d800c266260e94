/**
 * Start instance: one request middleware that gives every response the security headers
 * (src/lib/security-headers.ts) and every page a fresh CSP nonce. The nonce travels in the
 * request context to getRouter (src/app/router.tsx), which hands it to TanStack Router's
 * ssr.nonce so the inline scripts it renders carry it. Runs in dev and production alike.
 */
import { createMiddleware, createStart } from '@tanstack/react-start'
import { newCspNonce, withSecurityHeaders } from '../lib/security-headers'

const securityHeaders = createMiddleware().server(async ({ next }) => {
  const cspNonce = newCspNonce()
  const result = await next({ context: { cspNonce } })
  return { ...result, response: withSecurityHeaders(result.response, cspNonce) }
})

export const startInstance = createStart(() => ({ requestMiddleware: [securityHeaders] }))
