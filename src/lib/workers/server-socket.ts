/**
 * The server end of the docker workers' only way out: a unix socket that relays each connection
 * to this server's own HTTP address.
 *
 * Worker containers run with `NetworkMode: none` (or an operator's network), so they cannot reach
 * the host's loopback, where other services may listen without auth. Instead this socket file is
 * bind-mounted into each container and the worker tunnels its HTTP through it (src/worker/
 * server-link.ts). What comes through is byte-for-byte what a TCP client would send, so the app
 * authenticates it like any other request: the socket grants reachability, not trust.
 *
 * The socket lives in a fresh 0700 run directory under the OS temp dir (not the data dir: it
 * may be on a path too long for a socket name, or on a filesystem that cannot hold one); the
 * socket itself is 0660, so only the server's user and group (and the container's root, which
 * the engine maps to the host's) can connect.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'

export interface ServerSocketOptions {
  /** The server's own base URL (what workers were told), resolved on the first connection. */
  target: string | (() => string | Promise<string>)
  /** Parent of the run directory (default the OS temp dir). */
  parentDir?: string
  logger?: { warn(obj: object, msg?: string): void }
}

export interface ServerSocket {
  /** Host path of the socket file. */
  readonly path: string
  close(): Promise<void>
}

/** The TCP (or TLS) endpoint a server base URL names. */
export function relayTarget(url: string): { host: string; port: number; tls: boolean } {
  const u = new URL(url)
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`the worker relay needs an http(s) server URL, got ${url}`)
  const tls = u.protocol === 'https:'
  // URL keeps IPv6 hosts bracketed; net.connect wants them bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(u.port || (tls ? 443 : 80)), tls }
}

export async function openServerSocket(options: ServerSocketOptions): Promise<ServerSocket> {
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'tether-run-'))
  const path = join(dir, 'server.sock')
  let target: Promise<ReturnType<typeof relayTarget>> | null = null
  const resolveTarget = () =>
    (target ??= Promise.resolve(typeof options.target === 'function' ? options.target() : options.target)
      .then(relayTarget)
      .catch((err: unknown) => {
        target = null // retried on the next connection
        throw err
      }))

  const open = new Set<Socket>()
  const server: Server = createServer((inbound) => {
    open.add(inbound)
    inbound.once('close', () => open.delete(inbound))
    inbound.on('error', () => {})
    // Hold the first bytes until the upstream is connected.
    inbound.pause()
    resolveTarget().then(
      (t) => {
        if (inbound.destroyed) return
        const upstream = t.tls ? tlsConnect({ host: t.host, port: t.port, servername: t.host }) : netConnect({ host: t.host, port: t.port })
        open.add(upstream)
        upstream.once('close', () => open.delete(upstream))
        upstream.setNoDelay(true)
        upstream.on('error', (err) => {
          options.logger?.warn({ err }, 'worker relay: the server did not answer')
          inbound.destroy()
        })
        inbound.on('close', () => upstream.destroy())
        upstream.on('close', () => inbound.destroy())
        inbound.pipe(upstream)
        upstream.pipe(inbound)
        inbound.resume()
      },
      (err: unknown) => {
        options.logger?.warn({ err }, 'worker relay: no server URL to relay to')
        inbound.destroy()
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })
  chmodSync(path, 0o660)
  // A server that exits without closing the app (SIGTERM in src/server/main.ts) leaves no run dir behind.
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  process.once('exit', removeDir)

  let closed: Promise<void> | null = null
  return {
    path,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }).finally(() => {
        process.off('exit', removeDir)
        removeDir()
      })),
  }
}
