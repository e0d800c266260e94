/**
 * Sends one webhook POST. The default poster uses node:http(s) with a DNS lookup that refuses
 * blocked addresses (so a public-looking name that resolves inside is not reached, and the
 * check applies to the address actually connected to), never follows redirects, and reads at
 * most 64 KiB of the answer.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { checkWebhookUrl, isBlockedAddress } from './webhook-url'

export interface WebhookPost {
  url: string
  body: string
  headers: Record<string, string>
  signal: AbortSignal
}

/** Resolves with the receiver's status and (capped) body; rejects on network failure. */
export type WebhookPoster = (post: WebhookPost) => Promise<{ status: number; body: string }>

const MAX_RESPONSE_BYTES = 64 * 1024

/** A `lookup` for node:net that fails when any resolved address is blocked. */
export function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0)
      const blocked = addresses.find((a) => isBlockedAddress(a.address, allowLoopback))
      if (blocked || addresses.length === 0) {
        const e = Object.assign(new Error(`webhook host ${hostname} resolves to a blocked address`), { code: 'EBLOCKED' })
        return callback(e, '', 0)
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses)
      const first = addresses[0]
      callback(null, first.address, first.family)
    })
  }
}

export function nodeWebhookPoster(opts: { allowLoopback: boolean }): WebhookPoster {
  const lookup = guardedLookup(opts.allowLoopback)
  return (post) =>
    new Promise((resolve, reject) => {
      // Re-check at send time: URLs stored before a config change are held to today's rules.
      const checked = checkWebhookUrl(post.url, { allowLoopback: opts.allowLoopback })
      if (!checked.ok) return reject(new Error(checked.reason))
      const url = checked.url
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      const body = Buffer.from(post.body)
      const req = send(
        url,
        {
          method: 'POST',
          headers: { ...post.headers, 'content-length': String(body.length) },
          lookup,
          signal: post.signal,
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            if (size >= MAX_RESPONSE_BYTES) return
            chunks.push(chunk)
            size += chunk.length
          })
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8') })
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
}

/** Adapts an injected `fetch` (tests, custom transports). Redirects are not followed. */
export function fetchWebhookPoster(fetchImpl: typeof fetch): WebhookPoster {
  return async (post) => {
    const res = await fetchImpl(post.url, {
      method: 'POST',
      headers: post.headers,
      body: post.body,
      redirect: 'manual',
      signal: post.signal,
    })
    const text = await res.text()
    return { status: res.status, body: text.slice(0, MAX_RESPONSE_BYTES) }
  }
}
