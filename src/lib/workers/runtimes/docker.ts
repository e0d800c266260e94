/**
 * The `docker` runtime: one container per session through the Docker Engine API (dockerode).
 *
 * A session's container is named `tether-agent-<sessionId>` and labelled with the session id and
 * this server's instance id. It runs the worker image (image/build.ts) with no-new-privileges, a
 * read-only root filesystem, memory / CPU / pid limits, a tmpfs /tmp and a writable /work on its
 * own volume.
 *
 * Network: none by default (`TETHER_WORKER_NETWORK`, or an operator's Docker network for egress;
 * never `host`, which would hand the shell tool and the terminal every service on the host's
 * loopback). The worker reaches the server through a unix socket bind-mounted at
 * WORKER_SERVER_SOCKET (server-socket.ts on the host, src/worker/server-link.ts inside).
 *
 * User: the worker process is root inside the container, holding only the capabilities it needs
 * to run the shell tool and the terminal as uid 1000 (TETHER_SANDBOX=setuid:1000:1000) and to
 * hand them /work. Its environment (the worker token) is then in a root-owned /proc/1/environ
 * that uid 1000 cannot read; running the worker itself as 1000 would put the token in reach of
 * every command it runs.
 *
 * A warm-pool container (`tether-warm-<id>`) starts without a session and waits for a claim on
 * stdin; claim() renames it to `tether-agent-<sessionId>` and writes the claim. restart()
 * replaces an exited container with a new one on the same /work volume (so files survive a
 * crash) and a fresh token; stop() removes the container and its volume.
 */
import { randomBytes } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type Docker from 'dockerode'
import type { ServerSocket } from '../server-socket'
import { claimEnv, forwardedEnv, type LogOptions, type WorkerClaim, type WorkerExit, type WorkerInfo, type WorkerRuntime } from '../runtime'

export const CONTAINER_PREFIX = 'tether-agent-'
export const WARM_PREFIX = 'tether-warm-'
export const LABELS = {
  managedBy: 'tether.managed-by',
  instance: 'tether.instance',
  session: 'tether.session',
  volume: 'tether.volume',
  run: 'tether.run',
} as const

export interface DockerLimits {
  memoryBytes: number
  nanoCpus: number
  pidsLimit: number
  workTmpfsBytes?: number
}

export const DEFAULT_DOCKER_LIMITS: DockerLimits = { memoryBytes: 512 * 1024 * 1024, nanoCpus: 1_000_000_000, pidsLimit: 256 }

/** Where the server's socket appears inside a container (the engine creates the mount point). */
export const WORKER_SERVER_SOCKET = '/run/tether/server.sock'
/** The uid:gid the worker runs the shell tool and the terminal as (the image's `tether` user). */
export const WORKER_SANDBOX = 'setuid:1000:1000'
/**
 * What the root worker keeps: switching to uid 1000 (SETUID, SETGID), giving it /work (CHOWN,
 * FOWNER, DAC_OVERRIDE for files it left behind) and killing its process groups (KILL). No
 * NET_*, SYS_*, MKNOD or AUDIT: root in here cannot reconfigure, trace or mount anything.
 */
export const WORKER_CAPS = ['SETUID', 'SETGID', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL'] as const

/**
 * The containers' network from TETHER_WORKER_NETWORK: `none` (default; the server socket is the
 * only way out) or an existing Docker network the operator made (e.g. with an egress proxy).
 * `host` is refused: it shares the host's loopback, where services often listen without auth.
 */
export function workerNetworkFrom(value: string | undefined): string {
  const network = value?.trim() || 'none'
  if (network === 'host') {
    throw new Error(
      'TETHER_WORKER_NETWORK=host is refused: a worker container on the host network lets the agent\'s shell tool and ' +
        'anyone with a share link (the terminal) reach every service on the host\'s 127.0.0.1. Use `none` (the default; ' +
        'workers still reach Tether through its socket) or the name of a Docker network you made for egress.',
    )
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(network)) throw new Error(`TETHER_WORKER_NETWORK=${network} is not a Docker network name`)
  return network
}

export interface DockerRuntimeOptions {
  docker: Docker
  /** The worker image reference (see ensureWorkerImage). */
  image: string
  /** Which server's containers these are: reconcile only ever touches its own. */
  instanceId: string
  limits?: Partial<DockerLimits>
  /** Docker network (default `none`; `host` is refused, see workerNetworkFrom). */
  network?: string
  /**
   * The server's unix socket (server-socket.ts), mounted at WORKER_SERVER_SOCKET: the workers' way
   * to the server. The runtime owns it and closes it in close(), after the workers are stopped.
   */
  serverSocket?: Pick<ServerSocket, 'path' | 'close'>
  env?: Record<string, string>
  heartbeatMs?: number
}

export const containerNameFor = (sessionId: string): string => `${CONTAINER_PREFIX}${sessionId}`

function sessionFromName(name: string): string | null {
  const clean = name.replace(/^\//, '')
  return clean.startsWith(CONTAINER_PREFIX) ? clean.slice(CONTAINER_PREFIX.length) : null
}

function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number })?.statusCode === 404
}

/** Splits Docker's multiplexed log stream (8-byte frame headers) into text. */
export function demuxLogs(buffer: Buffer): string {
  let out = ''
  let offset = 0
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4)
    out += buffer.subarray(offset + 8, offset + 8 + size).toString('utf8')
    offset += 8 + size
  }
  return offset === 0 && buffer.length > 0 ? buffer.toString('utf8') : out
}

export class DockerRuntime implements WorkerRuntime {
  readonly kind = 'docker' as const
  private readonly docker: Docker
  private readonly limits: DockerLimits
  private readonly listeners = new Set<(exit: WorkerExit) => void>()
  private events: NodeJS.ReadableStream | null = null
  private eventsReady: Promise<void> | null = null
  private closed = false
  /** stdin of warm containers, attached before they start so no byte of the claim is lost. */
  private readonly warmStdin = new Map<string, Duplex>()
  /** Labels this runtime's containers, so containers of an earlier server run are told apart. */
  readonly runId = randomBytes(8).toString('hex')

  constructor(private readonly options: DockerRuntimeOptions) {
    this.docker = options.docker
    this.limits = { ...DEFAULT_DOCKER_LIMITS, ...options.limits }
    this.network = workerNetworkFrom(options.network)
  }

  private readonly network: string

  /** Subscribes to the engine's `die` events for this instance's containers (once). */
  private watchEvents(): Promise<void> {
    this.eventsReady ??= (async () => {
      const stream = (await this.docker.getEvents({
        filters: { type: ['container'], event: ['die'], label: [`${LABELS.instance}=${this.options.instanceId}`] },
      })) as NodeJS.ReadableStream & { destroy?: () => void }
      this.events = stream
      let buffer = ''
      stream.on('data', (data: Buffer) => {
        buffer += data.toString('utf8')
        let newline: number
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim()
          buffer = buffer.slice(newline + 1)
          if (!line) continue
          try {
            const event = JSON.parse(line) as { id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } }
            const attrs = event.Actor?.Attributes ?? {}
            const name = attrs.name ?? ''
            const exit: WorkerExit = {
              id: name,
              nativeId: event.Actor?.ID ?? event.id ?? '',
              sessionId: attrs[LABELS.session] || sessionFromName(name),
              exitCode: attrs.exitCode === undefined ? null : Number(attrs.exitCode),
            }
            for (const listener of this.listeners) listener(exit)
          } catch {
            /* not an event line */
          }
        }
      })
      stream.on('error', () => {})
      stream.on('end', () => {
        // The engine went away or restarted; watch again on next use.
        this.events = null
        this.eventsReady = null
        if (!this.closed && this.listeners.size > 0) void this.watchEvents().catch(() => {})
      })
    })()
    return this.eventsReady
  }

  private async createContainer(name: string, claim: WorkerClaim | undefined, volume: string): Promise<Docker.Container> {
    const env = {
      TETHER_WORK_DIR: '/work',
      HOME: '/work',
      ...(this.options.heartbeatMs ? { TETHER_HEARTBEAT_MS: String(this.options.heartbeatMs) } : {}),
      ...(this.options.env ?? forwardedEnv()),
      // After the forwarded env: nothing from the server's environment may loosen these.
      TETHER_SANDBOX: WORKER_SANDBOX,
      ...(this.options.serverSocket ? { TETHER_SERVER_SOCKET: WORKER_SERVER_SOCKET } : {}),
      ...(claim ? claimEnv(claim) : { TETHER_WARM: '1' }),
    }
    return this.docker.createContainer({
      name,
      Image: this.options.image,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: {
        [LABELS.managedBy]: 'tether',
        [LABELS.instance]: this.options.instanceId,
        [LABELS.session]: claim?.sessionId ?? '',
        [LABELS.volume]: volume,
        [LABELS.run]: this.runId,
      },
      User: '0:0',
      WorkingDir: '/work',
      OpenStdin: !claim,
      StdinOnce: false,
      AttachStdin: false,
      Tty: false,
      HostConfig: {
        NetworkMode: this.network,
        Memory: this.limits.memoryBytes,
        MemorySwap: this.limits.memoryBytes,
        NanoCpus: this.limits.nanoCpus,
        PidsLimit: this.limits.pidsLimit,
        Privileged: false,
        CapDrop: ['ALL'],
        CapAdd: [...WORKER_CAPS],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
        Mounts: [
          { Type: 'volume', Source: volume, Target: '/work' },
          ...(this.options.serverSocket ? [{ Type: 'bind' as const, Source: this.options.serverSocket.path, Target: WORKER_SERVER_SOCKET }] : []),
        ],
        AutoRemove: false,
        RestartPolicy: { Name: 'no' },
      },
    })
  }

  private async createVolume(name: string): Promise<string> {
    const volume = `tether-work-${randomBytes(8).toString('hex')}`
    await this.docker.createVolume({
      Name: volume,
      Labels: { [LABELS.managedBy]: 'tether', [LABELS.instance]: this.options.instanceId, [LABELS.run]: this.runId, 'tether.container': name },
    })
    return volume
  }

  private async infoOf(name: string): Promise<WorkerInfo | null> {
    try {
      const c = await this.docker.getContainer(name).inspect()
      const cleanName = c.Name.replace(/^\//, '')
      return {
        id: cleanName,
        runtime: 'docker',
        sessionId: c.Config.Labels?.[LABELS.session] || sessionFromName(cleanName),
        running: c.State.Running,
        exitCode: c.State.Running ? null : c.State.ExitCode,
        startedAt: Date.parse(c.State.StartedAt) || Date.now(),
        workDir: c.Config.Labels?.[LABELS.volume] ?? '',
        nativeId: c.Id,
        leftover: c.Config.Labels?.[LABELS.run] !== this.runId,
      }
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  private async launch(name: string, claim: WorkerClaim | undefined, volume?: string): Promise<WorkerInfo> {
    await this.watchEvents()
    const vol = volume ?? (await this.createVolume(name))
    const container = await this.createContainer(name, claim, vol)
    if (!claim) {
      const stdin = (await container.attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true })) as Duplex
      stdin.on('error', () => {})
      this.warmStdin.set(name, stdin)
    }
    await container.start()
    return {
      id: name,
      runtime: 'docker',
      sessionId: claim?.sessionId ?? null,
      running: true,
      exitCode: null,
      startedAt: Date.now(),
      workDir: vol,
      nativeId: container.id,
    }
  }

  async start(claim?: WorkerClaim): Promise<WorkerInfo> {
    const name = claim ? containerNameFor(claim.sessionId) : `${WARM_PREFIX}${randomBytes(6).toString('hex')}`
    return this.launch(name, claim)
  }

  async claim(id: string, claim: WorkerClaim): Promise<WorkerInfo> {
    const container = this.docker.getContainer(id)
    const name = containerNameFor(claim.sessionId)
    const stream = this.warmStdin.get(id) ?? ((await container.attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true })) as Duplex)
    this.warmStdin.delete(id)
    stream.on('error', () => {})
    await new Promise<void>((resolve, reject) => stream.write(`${JSON.stringify(claim)}\n`, (err) => (err ? reject(err) : resolve())))
    // Kept open until stop: the engine may close the container's stdin before it has copied what
    // was written when the attach ends right after a write.
    this.warmStdin.set(name, stream)
    // Renamed after the claim is written, so the claim's latency does not wait for the rename.
    await container.rename({ name })
    const info = await this.infoOf(name)
    if (!info) throw new Error(`container ${name} vanished during its claim`)
    return { ...info, sessionId: claim.sessionId }
  }

  async restart(id: string, claim: WorkerClaim): Promise<WorkerInfo> {
    const old = await this.infoOf(id)
    if (!old) throw new Error(`no container ${id}`)
    this.warmStdin.get(id)?.destroy()
    this.warmStdin.delete(id)
    await this.docker.getContainer(id).remove({ force: true, v: false })
    return this.launch(containerNameFor(claim.sessionId), claim, old.workDir || undefined)
  }

  async stop(id: string, options: { graceMs?: number } = {}): Promise<void> {
    this.warmStdin.get(id)?.destroy()
    this.warmStdin.delete(id)
    const info = await this.infoOf(id)
    if (!info) return
    const container = this.docker.getContainer(id)
    if (info.running) {
      try {
        await container.stop({ t: Math.ceil((options.graceMs ?? 5_000) / 1000) })
      } catch (err) {
        // 304: already stopped; 404: already gone.
        const status = (err as { statusCode?: number })?.statusCode
        if (status !== 304 && status !== 404) throw err
      }
    }
    await container.remove({ force: true, v: true }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err
    })
    if (info.workDir) await this.docker.getVolume(info.workDir).remove().catch(() => {})
  }

  async inspect(id: string): Promise<WorkerInfo | null> {
    return this.infoOf(id)
  }

  async list(): Promise<WorkerInfo[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.instance}=${this.options.instanceId}`] },
    })
    return containers.map((c) => {
      const name = (c.Names[0] ?? '').replace(/^\//, '')
      return {
        id: name,
        runtime: 'docker' as const,
        sessionId: c.Labels?.[LABELS.session] || sessionFromName(name),
        running: c.State === 'running',
        exitCode: null,
        startedAt: c.Created * 1000,
        workDir: c.Labels?.[LABELS.volume] ?? '',
        nativeId: c.Id,
        leftover: c.Labels?.[LABELS.run] !== this.runId,
      }
    })
  }

  /** Volumes of this instance that no container uses any more (left by a crash mid-stop). */
  async removeOrphanVolumes(): Promise<number> {
    const { Volumes } = await this.docker.listVolumes({ filters: { label: [`${LABELS.instance}=${this.options.instanceId}`], dangling: ['true'] } })
    let removed = 0
    for (const v of Volumes ?? []) {
      // Volumes of this run may be between createVolume and createContainer.
      if (v.Labels?.[LABELS.run] === this.runId) continue
      await this.docker
        .getVolume(v.Name)
        .remove()
        .then(() => removed++)
        .catch(() => {})
    }
    return removed
  }

  async logs(id: string, options: LogOptions = {}): Promise<string> {
    const raw = (await this.docker.getContainer(id).logs({
      stdout: true,
      stderr: true,
      follow: false,
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
    })) as unknown as Buffer
    return demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)))
  }

  onExit(listener: (exit: WorkerExit) => void): () => void {
    this.listeners.add(listener)
    void this.watchEvents().catch(() => {})
    return () => this.listeners.delete(listener)
  }

  async close(): Promise<void> {
    this.closed = true
    for (const stdin of this.warmStdin.values()) stdin.destroy()
    this.warmStdin.clear()
    this.listeners.clear()
    const events = this.events as (NodeJS.ReadableStream & { destroy?: () => void }) | null
    events?.destroy?.()
    this.events = null
    await this.options.serverSocket?.close()
  }
}
