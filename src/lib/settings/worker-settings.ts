/**
 * The worker program's settings (a separate process: src/worker/main.ts passes its environment
 * here). The runtimes set these variables, not operators, so they are not in README's table.
 * Plain parsing, no zod: this module is bundled into the worker, whose start time is measured.
 */
import type { Env } from './load'

/** The worker's variables: name → one-line doc (test/lib/settings checks the parser reads only these). */
export const WORKER_VARIABLES = {
  TETHER_SESSION_ID: 'the session this worker serves (unset with TETHER_WARM=1: from the claim line)',
  TETHER_SERVER_URL: 'base URL of the Tether server',
  TETHER_WORKER_TOKEN: "the worker's token; removed from the process environment once read",
  TETHER_PRODUCER_EPOCH: "the producers' epoch under a session lease (issue 14; unset: derived from the stream)",
  TETHER_WARM: '1: a warm-pool worker, waiting for one JSON claim line on stdin',
  TETHER_EXIT_WITH_STDIN: '1 (process runtime): exit when stdin closes, i.e. when the server is gone',
  TETHER_SERVER_SOCKET: "docker runtime: the unix socket to the server (the container's only way out)",
  TETHER_WORK_DIR: "the work dir of tools and the terminal (default: the process's cwd)",
  TETHER_STREAMS_PATH: 'path of the streams API below the server URL (default /api/streams)',
  TETHER_HEARTBEAT_MS: 'agent-state heartbeat interval (default 3000)',
  TETHER_SANDBOX: 'the command sandbox: bwrap (default), setuid:<uid>:<gid>, off',
  TETHER_WORKER_DEBUG: 'set: debug log records too',
} as const

export interface WorkerIdentity {
  sessionId: string
  serverUrl: string
  token: string
  /** The producers' epoch the supervisor gave (a session lease's fence, src/lib/workers/session-leases.ts); unset: from the stream. */
  epoch?: number
}

/** A producer epoch as sent by the supervisor: a positive safe integer, else none. */
export function parseEpoch(raw: unknown): number | undefined {
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined
}

export interface WorkerSettings {
  workDir: string
  /** Path of the streams API below the server URL. */
  streamsPath: string
  heartbeatMs: number
}

export interface WorkerProgramSettings {
  settings: WorkerSettings
  /** From the environment; null for a warm worker (its identity arrives on stdin). */
  identity: WorkerIdentity | null
  warm: boolean
  exitWithStdin: boolean
  serverSocket?: string
  /** TETHER_SANDBOX as given (parseSandboxMode checks it; unset = bwrap). */
  sandbox?: string
  debug: boolean
}

export function loadWorkerSettings(env: Env, cwd: string = process.cwd()): WorkerProgramSettings {
  const heartbeat = Number(env.TETHER_HEARTBEAT_MS)
  const sessionId = env.TETHER_SESSION_ID
  const serverUrl = env.TETHER_SERVER_URL
  const token = env.TETHER_WORKER_TOKEN
  const epoch = parseEpoch(env.TETHER_PRODUCER_EPOCH)
  return {
    settings: {
      workDir: env.TETHER_WORK_DIR || cwd,
      streamsPath: env.TETHER_STREAMS_PATH || '/api/streams',
      heartbeatMs: heartbeat > 0 ? heartbeat : 3_000,
    },
    identity: sessionId && serverUrl && token ? { sessionId, serverUrl, token, ...(epoch ? { epoch } : {}) } : null,
    warm: env.TETHER_WARM === '1',
    exitWithStdin: env.TETHER_EXIT_WITH_STDIN === '1',
    ...(env.TETHER_SERVER_SOCKET ? { serverSocket: env.TETHER_SERVER_SOCKET } : {}),
    ...(env.TETHER_SANDBOX !== undefined ? { sandbox: env.TETHER_SANDBOX } : {}),
    debug: Boolean(env.TETHER_WORKER_DEBUG),
  }
}
