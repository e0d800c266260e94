/** A real webhook receiver on 127.0.0.1:0 that records requests and answers as told. */
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  signature: string
  rawBody: string
  /** Date.now() when the request arrived. */
  at: number
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, asserted field by field
  body: any
}

export async function startReceiver(answer: (r: Received) => { status: number; body?: unknown } = () => ({ status: 200, body: {} })) {
  const received: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8')
      const r = { signature: String(req.headers['webhook-signature'] ?? ''), rawBody, at: Date.now(), body: JSON.parse(rawBody) }
      received.push(r)
      const a = answer(r)
      res.writeHead(a.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(a.body ?? {}))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Verifies a Webhook-Signature header against a JWKS, as a receiver would. */
export function verifySignature(header: string, rawBody: string, jwks: { keys: (JsonWebKey & { kid: string })[] }): boolean {
  const m = /^t=(\d+),kid=([^,]+),ed25519=([A-Za-z0-9_-]+)$/.exec(header)
  const jwk = m && jwks.keys.find((k) => k.kid === m[2])
  if (!m || !jwk) return false
  return verify(null, Buffer.from(`${m[1]}.${rawBody}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(m[3], 'base64url'))
}
