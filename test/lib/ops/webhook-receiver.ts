/** A real HTTP receiver on loopback for webhook tests: records each request, answers as told. */
import { createPublicKey, verify } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

export interface Received {
  id: string
  type: string
  body: string
  signature: string
  event: { id: string; type: string; sessionId: string | null; data: Record<string, unknown> }
}

/** What to do with a request: answer with this status, or 'hang' (hold it until released). */
export type Answer = number | 'hang'

export interface Receiver {
  url: string
  received: Received[]
  /** Requests answered 2xx (what a deduplicating receiver keeps), by event id. */
  delivered(): Map<string, Received[]>
  answer: (r: Received) => Answer
  /** Requests being held ('hang'). */
  held: number
  /** Resolves when `pred` holds (checked after every request). */
  until(pred: () => boolean): Promise<void>
  release(): void
  close(): Promise<void>
}

export async function startReceiver(): Promise<Receiver> {
  const waiters: Array<{ pred: () => boolean; resolve: () => void }> = []
  const hanging: ServerResponse[] = []
  const ok = new Set<Received>()
  const check = () => {
    for (const w of [...waiters]) if (w.pred()) waiters.splice(waiters.indexOf(w), 1) && w.resolve()
  }
  const recv: Receiver = {
    url: '',
    received: [],
    answer: () => 200,
    held: 0,
    delivered() {
      const m = new Map<string, Received[]>()
      for (const r of ok) m.set(r.id, [...(m.get(r.id) ?? []), r])
      return m
    },
    until(pred) {
      return new Promise((resolve) => {
        waiters.push({ pred, resolve })
        check()
      })
    },
    release() {
      for (const res of hanging.splice(0)) res.destroy()
      recv.held = 0
    },
    close: () =>
      new Promise((resolve) => {
        recv.release()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const r: Received = {
        id: String(req.headers['webhook-id']),
        type: String(req.headers['webhook-event']),
        body,
        signature: String(req.headers['webhook-signature']),
        event: JSON.parse(body) as Received['event'],
      }
      recv.received.push(r)
      const a = recv.answer(r)
      if (a === 'hang') {
        hanging.push(res)
        recv.held++
      } else {
        if (a >= 200 && a < 300) ok.add(r)
        res.writeHead(a).end()
      }
      check()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  recv.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`
  return recv
}

/** Verifies `Webhook-Signature: t=…,kid=…,ed25519=…` over `<t>.<body>` with a key from the JWKS. */
export function validSignature(r: Received, jwks: { keys: Array<{ kid: string } & Record<string, unknown>> }): boolean {
  const parts = Object.fromEntries(r.signature.split(',').map((p) => p.split('=', 2) as [string, string]))
  const jwk = jwks.keys.find((k) => k.kid === parts.kid)
  if (!jwk || !parts.t || !parts.ed25519) return false
  const key = createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' })
  return verify(null, Buffer.from(`${parts.t}.${r.body}`), key, Buffer.from(parts.ed25519, 'base64url'))
}
