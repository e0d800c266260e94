import type { IncomingMessage, ServerResponse } from 'node:http'
import { ProtocolError } from './errors'

export const tooLarge = (limit: number) => new ProtocolError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`)

/** srvx (and similar adapters) expose the Node request; reading it directly skips a web-stream hop. */
export function nodeRequestOf(req: Request): IncomingMessage | undefined {
  // Why `unknown` casts: `runtime` is an srvx extension, absent from the Request type.
  const runtime = (req as unknown as { runtime?: { node?: { req?: IncomingMessage } } }).runtime
  return runtime?.node?.req
}

/** The Node ServerResponse behind an srvx request, if any. */
export function nodeResponseOf(req: Request): ServerResponse | undefined {
  const runtime = (req as unknown as { runtime?: { node?: { res?: ServerResponse } } }).runtime
  return runtime?.node?.res
}

/**
 * Reads a request body, refusing (413, or the caller's error) as soon as it exceeds `limit` bytes: a declared
 * Content-Length over the limit is refused before reading anything, and a chunked body is
 * abandoned at the first chunk that crosses the limit (never buffered whole).
 */
export async function readBody(req: Request, limit: number, tooLargeError: (limit: number) => Error = tooLarge): Promise<Uint8Array> {
  const declared = req.headers.get('content-length')
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) {
    await req.body?.cancel().catch(() => {})
    throw tooLargeError(limit)
  }
  const nodeReq = nodeRequestOf(req)
  if (nodeReq && !nodeReq.readableEnded) return readNode(nodeReq, limit, tooLargeError)
  if (!req.body) return new Uint8Array(0)
  const reader = req.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw tooLargeError(limit)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0]!
  return Buffer.concat(chunks, size)
}

function readNode(req: IncomingMessage, limit: number, tooLargeError: (limit: number) => Error): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        // Stop reading; the response (413) closes the connection instead of draining it.
        req.pause()
        reject(tooLargeError(limit))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    }
    const onError = (err: Error) => {
      cleanup()
      reject(err)
    }
    const onClose = () => {
      cleanup()
      if (!req.complete) reject(new Error('client closed the request before its body ended'))
    }
    req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose)
  })
}
