/**
 * The worker program's entry (bundled to dist/worker/worker.cjs; `node worker.cjs`).
 *
 * Environment: TETHER_SESSION_ID, TETHER_SERVER_URL, TETHER_WORKER_TOKEN (or TETHER_WARM=1 and a
 * claim line on stdin), TETHER_WORK_DIR, TETHER_SANDBOX. No provider credentials: models are reached through the
 * server's model gateway (specs/gateway.md). With TETHER_EXIT_WITH_STDIN=1 (the process runtime) the worker
 * exits when its stdin closes, i.e. when the server that started it is gone. With
 * TETHER_SERVER_SOCKET (the docker runtime: no network to the host) the server is reached through
 * that unix socket (server-link.ts).
 */
import { createInterface } from 'node:readline'
import { stream } from '@durable-streams/client'
import { loadWorkerSettings } from '../lib/settings/worker-settings'
import { parseClaimLine, type ClaimLine } from './session-config'
import { log, setLogDebug } from './log'
import { configureWorkerSandbox, workerSandbox } from './sandbox'
import { httpFetch, routeOriginToSocket } from './http-fetch'
import { rehearseClaimPath } from './rehearsal'
import { startServerLink, throughLink } from './server-link'
import { EXIT_CRASHED, startWorker, type RunningWorker } from './worker'

function readClaim(): Promise<ClaimLine> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin })
    let settled = false
    lines.once('line', (line) => {
      settled = true
      try {
        resolve(parseClaimLine(line))
      } catch (err) {
        reject(err)
      }
      // close() emits 'close' synchronously: settle first.
      lines.close()
    })
    lines.once('close', () => {
      if (!settled) reject(new Error('stdin closed before a claim arrived'))
    })
  })
}

async function main(): Promise<void> {
  // The worker's one read of its environment (src/lib/settings/worker-settings.ts).
  const { settings, identity: fromEnv, warm, exitWithStdin, serverSocket, sandbox, debug } = loadWorkerSettings(process.env)
  setLogDebug(debug)
  configureWorkerSandbox(sandbox)
  let running: RunningWorker | null = null
  let exiting = false
  const exit = (code: number) => {
    if (exiting) return
    exiting = true
    // Let stderr drain before leaving.
    setImmediate(() => process.exit(code))
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (!running) return exit(0)
      void running.shutdown(`received ${signal}`)
    })
  }
  if (exitWithStdin && !warm) {
    process.stdin.on('end', () => exit(0)).resume()
  }

  // Up before a warm worker waits, so a claim does not wait for it.
  const link = serverSocket ? await startServerLink(serverSocket) : null
  // The worker's own requests go straight into the socket; the loopback relay stays for the
  // programs it runs (the model proxy's upstream, agent programs).
  if (link && serverSocket) routeOriginToSocket(link.origin, serverSocket)

  let identity = fromEnv
  let claimed: ClaimLine['session']
  // Only this process needs the token: anything it spawns gets an environment without it.
  delete process.env.TETHER_WORKER_TOKEN
  if (!identity) {
    if (!warm) throw new Error('TETHER_SESSION_ID, TETHER_SERVER_URL and TETHER_WORKER_TOKEN are required')
    // The first request through the server link warms its pooled connection and the code on the
    // claim's path while idle (node:http: http-fetch.ts; never undici, which would cost every
    // worker ~12 MiB). Bounded: a server not yet listening must not hold up reading the claim.
    // The health check is read through the streams client, as the claim's first stream read will
    // be: that read's code (and the web streams it loads) runs compiled, not for the first time.
    if (link) {
      await stream({ url: `${link.origin}/api/health`, live: false, fetch: httpFetch, signal: AbortSignal.timeout(2_000), warnOnHttp: false })
        .then((r) => r.text())
        .catch(() => {})
    }
    // The command sandbox's probe (a whole bwrap run on the process runtime) while idle, not
    // beside the claimed session's first heartbeat, where it used to compete for the CPU.
    await workerSandbox().check()
    // The claim's first read and append rehearsed against a loopback stand-in (rehearsal.ts).
    await rehearseClaimPath()
    // Logged once fully warm: from here a claim costs only its own work (bench/workers.ts waits
    // for this line before timing a warm claim).
    log.info('warm: waiting for a claim on stdin')
    ;({ identity, session: claimed } = await readClaim())
    log.debug({}, 'claim read')
    if (exitWithStdin) process.stdin.on('end', () => exit(0)).resume()
  }
  if (link) identity = { ...identity, serverUrl: throughLink(identity.serverUrl, link) }
  running = startWorker(identity, settings, claimed ? { session: claimed } : {})
  exit(await running.done)
}

main().catch((err) => {
  log.error({ error: err instanceof Error ? err.message : String(err) }, 'worker could not start')
  process.exit(EXIT_CRASHED)
})
