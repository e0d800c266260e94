/**
 * Test harness for workers: the whole Tether app (built-in SQLite streams server, token auth,
 * sessions API) served over real HTTP on loopback from a fresh temp dir, with the worker
 * supervisor wired in through createWorkerCallbacks, on the process or docker runtime.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { serve } from 'srvx/node'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import type { SessionsConfig } from '../../../src/lib/settings'
import { createWorkerCallbacks, type WorkerCallbacksOptions } from '../../../src/lib/workers/supervisor-wiring'
import type { RuntimeKind } from '../../../src/lib/workers/runtime'
import type { WorkerSupervisor } from '../../../src/lib/workers/supervisor'
import { captureLogger } from '../../support/capture-logger'

// biome-ignore lint/suspicious/noExplicitAny: tests read loose JSON events
export type Event = Record<string, any>

export interface WorkerHarnessOptions {
  runtime: RuntimeKind
  warmPool?: Partial<Record<RuntimeKind, number>>
  heartbeatMs?: number
  /** Reuse a data dir (to simulate a server restart on the same data). */
  dataDir?: string
  monitorIntervalMs?: number
  hooks?: Partial<WorkerCallbacksOptions>
  /** An external Durable Streams server (TETHER_STREAMS_URL-style backend). */
  streamsUrl?: string
}

export interface WorkerHarness {
  url: string
  app: TetherServer
  supervisor: WorkerSupervisor
  dataDir: string
  adminToken: string
  logs: string[]
  /** Every request the app answered, `<METHOD> <path>` (e.g. who fetched a session record). */
  requests: string[]
  request(path: string, init?: { method?: string; token?: string | null; json?: unknown }): Promise<Response>
  createSession(body?: Record<string, unknown>): Promise<string>
  postMessage(sessionId: string, text: string): Promise<string>
  events(sessionId: string): Promise<Event[]>
  /** Polls the session stream until `check` returns a value (not a timing assertion: a hang guard). */
  waitFor<T>(sessionId: string, check: (events: Event[]) => T | undefined | null | false, what: string, timeoutMs?: number): Promise<T>
  close(): Promise<void>
}

export const SECRET = 'test-secret-for-the-worker-suite'

export async function startWorkerHarness(opts: WorkerHarnessOptions): Promise<WorkerHarness> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `tether-workers-${opts.runtime}-`))
  const { logger, logs } = captureLogger()
  const sessions: SessionsConfig = {
    auth: true,
    secret: SECRET,
    monitorIntervalMs: opts.monitorIntervalMs ?? 0,
    ephemeralRemoveAfterMs: 60_000,
    retentionDays: 30,
    maxEventBodyBytes: 1024 * 1024,
    defaultLimits: {},
    ...(opts.streamsUrl ? { streamsUrl: opts.streamsUrl } : {}),
  }
  let url = ''
  let listening!: (url: string) => void
  const urlReady = new Promise<string>((r) => (listening = r))
  let supervisor: WorkerSupervisor | null = null
  const app = createTetherServer(
    { dataDir, sessions, logger, longPollTimeoutMs: 5_000 },
    createWorkerCallbacks({
      dataDir,
      config: {
        enabled: true,
        runtime: opts.runtime,
        warmPool: opts.warmPool ?? { process: 0, docker: 0 },
        heartbeatMs: opts.heartbeatMs ?? 1_000,
      },
      // The port is known only once listening; reconcile may ask before that.
      serverUrl: () => urlReady,
      logger,
      backoff: { initialMs: 100, maxMs: 2_000 },
      onSupervisor: (s) => (supervisor = s),
      ...opts.hooks,
    }),
  )
  const requests: string[] = []
  const server = serve({
    fetch: (req) => {
      requests.push(`${req.method} ${new URL(req.url).pathname}`)
      return app.fetch(req)
    },
    port: 0,
    hostname: '127.0.0.1',
    silent: true,
    gracefulShutdown: false,
  })
  await server.ready()
  const address = server.node?.server?.address()
  if (!address || typeof address !== 'object') throw new Error('no address')
  url = `http://127.0.0.1:${address.port}`
  listening(url)
  await app.ready
  const adminToken = await app.issueToken({ role: 'admin', subject: 'admin-user', ttlSeconds: 86_400 })

  const request: WorkerHarness['request'] = (path, init = {}) => {
    const headers: Record<string, string> = {}
    const token = init.token === undefined ? adminToken : init.token
    if (token) headers.authorization = `Bearer ${token}`
    let body: string | undefined
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(init.json)
    }
    return fetch(`${url}${path}`, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body })
  }

  const events = async (sessionId: string): Promise<Event[]> => {
    const res = await request(`/api/streams/sessions/${sessionId}?offset=-1`)
    if (res.status !== 200) throw new Error(`read failed: ${res.status} ${await res.text()}`)
    const text = await res.text()
    return text.trim() ? (JSON.parse(text) as Event[]) : []
  }

  return {
    url,
    app,
    get supervisor() {
      if (!supervisor) throw new Error('the app did not build the worker supervisor')
      return supervisor
    },
    dataDir,
    adminToken,
    logs,
    requests,
    request,
    async createSession(body = {}) {
      // An agent list (several agents) replaces the single echo agent.
      const agent = 'agents' in body ? {} : { agent: { model: 'echo' } }
      const res = await request('/api/sessions', { json: { pattern: 'long-running', ...agent, ...body } })
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
      return ((await res.json()) as { session: { id: string } }).session.id
    },
    async postMessage(sessionId, text) {
      const res = await request(`/api/sessions/${sessionId}/messages`, { json: { text } })
      if (res.status !== 200 && res.status !== 201) throw new Error(`message failed: ${res.status} ${await res.text()}`)
      return ((await res.json()) as { messageId: string }).messageId
    },
    events,
    async waitFor(sessionId, check, what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      let last: Event[] = []
      while (Date.now() < deadline) {
        last = await events(sessionId)
        const value = check(last)
        if (value) return value as NonNullable<typeof value>
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error(
        `gave up waiting for ${what}; stream has ${last.length} events:\n${last
          .slice(-15)
          .map((e) => JSON.stringify(e).slice(0, 300))
          .join('\n')}`,
      )
    },
    async close() {
      // The app first: stopping workers still reach the server to write their final state.
      await app.close()
      await server.close(true)
    },
  }
}

// ---- reading a session's events ----------------------------------------------------------------

export const ofType = (events: Event[], type: string): Event[] => events.filter((e) => e.type === type)

/** Assistant text of one turn (all steps, in order), from chunk events. */
export function answerText(events: Event[], turn: number): string {
  const chunks = ofType(events, 'chunk').filter((e) => e.value.role === 'assistant' && e.value.turn === turn)
  const steps = new Map<string, Event[]>()
  for (const c of chunks) steps.set(c.value.messageId, [...(steps.get(c.value.messageId) ?? []), c])
  return [...steps.entries()]
    .sort((a, b) => stepIndex(a[0]) - stepIndex(b[0]))
    .map(([, cs]) => {
      // A compacted message (an ended session's stream is compacted once) keeps its first chunk
      // and a folded one holding the whole text: the folded chunk alone is the text.
      const folded = cs.find((c) => c.value.folded !== undefined)
      if (folded) return folded.value.delta as string
      return cs
        .sort((a, b) => a.value.seq - b.value.seq)
        .map((c) => c.value.delta)
        .join('')
    })
    .join('')
}

const stepIndex = (messageId: string): number => Number(/:s(\d+)$/.exec(messageId)?.[1] ?? 0)

/** Whether turn `turn` has ended (a done step that asked for no tool). */
export function turnEnded(events: Event[], turn: number): boolean {
  const chunks = ofType(events, 'chunk').filter((e) => e.value.role === 'assistant' && e.value.turn === turn && e.value.done)
  const calls = ofType(events, 'tool-call')
  return chunks.some((c) => !calls.some((t) => t.value.messageId === c.value.messageId))
}

export function latestAgentState(events: Event[]): Event | undefined {
  return ofType(events, 'agent-state')
    .filter((e) => e.value.kind === 'state')
    .at(-1)?.value
}

/** The latest agent-state of one agent (several agents in a session). */
export const agentStateOf = (events: Event[], agentId: string): Event['value'] | undefined =>
  ofType(events, 'agent-state')
    .filter((e) => e.value.kind === 'state' && e.value.agentId === agentId)
    .at(-1)?.value

/** The app with process workers and no command sandbox (TETHER_SANDBOX=off): where external agent programs run outside docker. */
export function startUnsandboxedProcessHarness(): Promise<WorkerHarness> {
  return startWorkerHarness({
    runtime: 'process',
    hooks: { config: { enabled: true, runtime: 'process', warmPool: { process: 0, docker: 0 }, heartbeatMs: 1_000, sandbox: 'off' } },
  })
}

/** The host pid of a session's process worker. */
export async function workerPidOf(h: WorkerHarness, sessionId: string): Promise<number> {
  const w = h.supervisor.workerOf(sessionId)
  if (!w?.workerId) throw new Error('no worker')
  const info = await (await h.supervisor.runtime('process')).inspect(w.workerId)
  return Number(info?.nativeId)
}

/** Pids whose command line contains `needle`, among the descendants of `root` (read from /proc). */
export function descendantProcesses(root: number, needle: string): number[] {
  const parent = new Map<number, number>()
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      /* exited meanwhile */
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true
    return false
  }
  return [...parent.keys()].filter((pid) => {
    if (!under(pid)) return false
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(needle)
    } catch {
      return false
    }
  })
}

/** The latest turn record's status (one turn at a time in the session). */
export const lastTurnStatus = (events: Event[]): string | undefined =>
  ofType(events, 'agent-state')
    .filter((e) => e.value.kind === 'turn')
    .at(-1)?.value.status

/** The latest record of a turn by id (`turn:<messageId>[@<agentId>]`). */
export const turnRecordOf = (events: Event[], id: string): Event['value'] | undefined =>
  ofType(events, 'agent-state')
    .filter((e) => e.value.kind === 'turn' && e.value.id === id)
    .at(-1)?.value

/** (type, key) pairs of immutable events appear once; returns the duplicates. */
export function duplicateImmutableEvents(events: Event[]): string[] {
  const seen = new Set<string>()
  const dups: string[] = []
  for (const e of events) {
    if (e.type !== 'chunk' && e.type !== 'terminal') continue
    const k = `${e.type}/${e.key}`
    if (seen.has(k)) dups.push(k)
    seen.add(k)
  }
  return dups
}

/** Each message's chunk seqs run 0..n without gaps. */
export function chunkGaps(events: Event[]): string[] {
  const byMessage = new Map<string, number[]>()
  for (const c of ofType(events, 'chunk')) byMessage.set(c.value.messageId, [...(byMessage.get(c.value.messageId) ?? []), c.value.seq])
  const gaps: string[] = []
  for (const [messageId, seqs] of byMessage) {
    const sorted = [...seqs].sort((a, b) => a - b)
    sorted.forEach((seq, i) => {
      if (seq !== i) gaps.push(`${messageId} expected seq ${i}, found ${seq}`)
    })
  }
  return gaps
}

// ---- docker ------------------------------------------------------------------------------------

let dockerHost: string | null = null

/**
 * Makes sure a Docker engine runs (scripts/docker-engine.sh installs docker.io and starts dockerd
 * when needed) and points DOCKER_HOST at it.
 */
export function ensureDockerEngine(): string {
  if (dockerHost) return dockerHost
  const script = resolve(import.meta.dirname, '../../../scripts/docker-engine.sh')
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 })
  const m = /DOCKER_HOST=(\S+)/.exec(out)
  if (!m) throw new Error(`docker-engine.sh printed no DOCKER_HOST: ${out}`)
  dockerHost = m[1]
  process.env.DOCKER_HOST = dockerHost
  void removeStaleContainers()
  return dockerHost
}

/** A running engine, the worker image built, and a client: what every docker test starts with. */
export async function prepareDocker(): Promise<import('dockerode')> {
  ensureDockerEngine()
  const { dockerClient } = await import('../../../src/lib/workers/docker-engine')
  const { ensureWorkerImage } = await import('../../../src/lib/workers/image/build')
  const docker = dockerClient()
  await ensureWorkerImage({ docker })
  return docker
}

/** The app with the docker runtime, its engine already answering. */
export async function startDockerHarness(opts: Omit<WorkerHarnessOptions, 'runtime'> = {}): Promise<WorkerHarness> {
  const h = await startWorkerHarness({ ...opts, runtime: 'docker' })
  await h.supervisor.runtime('docker')
  return h
}

/** `pid uid args` of a container's processes whose command line contains `needle` (uids as the host sees them). */
export async function containerProcesses(docker: import('dockerode'), containerId: string, needle: string): Promise<string[]> {
  const top = (await docker.getContainer(containerId).top({ ps_args: '-eo pid,uid,args' })) as { Processes?: string[][] }
  return (top.Processes ?? []).map((p) => p.join(' ')).filter((line) => line.includes(needle))
}

/** A container's inspect info, or null when there is no such container. */
export async function inspectContainer(docker: import('dockerode'), name: string): Promise<import('dockerode').ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(name).inspect()
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null
    throw err
  }
}

/**
 * Test runs that were killed leave worker containers behind (each a full copy of the image on
 * the vfs driver). Those that exited more than ten minutes ago belong to no running test.
 */
async function removeStaleContainers(): Promise<void> {
  const { dockerClient } = await import('../../../src/lib/workers/docker-engine')
  const docker = dockerClient()
  const exited = await docker.listContainers({
    all: true,
    filters: { label: ['tether.managed-by=tether'], status: ['exited', 'dead', 'created'] },
  })
  for (const c of exited) {
    const info = await docker
      .getContainer(c.Id)
      .inspect()
      .catch(() => null)
    const finished = info ? Date.parse(info.State.FinishedAt) : Number.NaN
    if (info && (Number.isNaN(finished) || finished <= 0 ? Date.parse(info.Created) : finished) < Date.now() - 10 * 60_000) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => {})
    }
  }
}
