/**
 * The browser's files as the production server sends them (src/server/main.ts, vite.config.ts's
 * precompress): the build's own `.br` / `.gz` files, byte for byte (nothing is compressed per
 * request), each to a client that accepts it, the plain file otherwise; with nosniff.
 * The real production build and server, raw HTTP (no client-side decompression).
 */
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { join, resolve } from 'node:path'
import { brotliDecompressSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProductionServer, type ProductionServer } from '../support/production-server'

const client = resolve(import.meta.dirname, '../../dist/client')

function get(url: string, acceptEncoding?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((done, fail) => {
    const req = request(url, { headers: acceptEncoding ? { 'accept-encoding': acceptEncoding } : {} }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }))
    })
    req.on('error', fail)
    req.end()
  })
}

describe('production server: static files', () => {
  let server: ProductionServer
  let asset: string
  beforeAll(async () => {
    server = await startProductionServer({ TETHER_SECRET: 'static-files-test-secret-0123456789', TETHER_WORKERS: 'off' })
    const html = await (await fetch(`${server.url}/`, { headers: { accept: 'text/html' } })).text()
    asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1] ?? ''
  }, 300_000)
  afterAll(async () => {
    await server?.dispose()
  })

  it('sends the build’s brotli file to a browser that accepts it, byte for byte', async () => {
    expect(asset).toMatch(/^\/assets\//)
    const plain = readFileSync(join(client, asset))
    const br = readFileSync(join(client, `${asset}.br`))
    expect(br.length).toBeLessThan(plain.length / 2)
    const res = await get(`${server.url}${asset}`, 'gzip, deflate, br, zstd')
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBe('br')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.body.equals(br)).toBe(true)
    expect(brotliDecompressSync(res.body).equals(plain)).toBe(true)
  })

  it('sends the gzip file to a client that takes only gzip, and the plain file to one that takes neither', async () => {
    const gz = await get(`${server.url}${asset}`, 'gzip')
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.body.equals(readFileSync(join(client, `${asset}.gz`)))).toBe(true)
    const plain = await get(`${server.url}${asset}`)
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.headers['content-length']).toBe(String(plain.body.length))
    expect(plain.body.equals(readFileSync(join(client, asset)))).toBe(true)
  })
})
