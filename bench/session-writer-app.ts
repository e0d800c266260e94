/**
 * The whole Tether app (createTetherServer + srvx, auth on, workers off) in its own process for
 * the session-writer benchmark: started by bench/scenarios/session-writer.ts, so the app's CPU
 * and event loop are its own and not shared with the load generator, as the bare server's are.
 * Prints one JSON line `{origin, token, pid}` when ready; SIGTERM closes it.
 * Env: BENCH_STREAMS_URL = an external streams backend (the reference server).
 */
import { startApp } from './session-writer-start'

const app = await startApp(process.env.BENCH_STREAMS_URL || undefined)
process.stdout.write(`${JSON.stringify({ origin: app.origin, token: app.token, pid: process.pid })}\n`)
let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  void app.close().finally(() => process.exit(0))
})
