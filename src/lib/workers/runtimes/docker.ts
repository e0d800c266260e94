/**
 * The `docker` runtime: one container per session through the Docker Engine API (dockerode).
 * This file is the lifecycle (create, claim, restart, stop, list, die events); what a container
 * is (name, labels, limits, network, environment, hardening) is docker-container-spec.ts.
 *
 * A warm-pool container (`tether-warm-<id>`) starts without a session and waits for a claim on
 * stdin; claim() renames it to `tether-agent-<sessionId>` (`…--<agentId>` for a per-agent worker
 * that is not the session's main one) and writes the claim. restart()
 * replaces an exited container with a new one on the same /work volume (so files survive a
 * crash) and a fresh token; stop() removes the container and its volume.
 */
import { randomBytes } from 'node:crypto'
import type { Duplex, Readable } from 'node:stream'
import type Docker from 'dockerode'
import type { ServerSocket } from '../server-socket'
import type { LogOptions, StartOptions, WorkerClaim, WorkerExit, WorkerInfo, WorkerRuntime } from '../runtime'
import { ArchiveTooLargeError, tarOf, untarInto } from '../workspace-copy'
import { WorkspaceTooLargeError } from '../workspaces'
import {
  containerNameFor,
  containerSpec,
  DEFAULT_DOCKER_LIMITS,
  type DockerLimits,
  LABELS,
  sessionFromName,
  unitFromName,
  volumeSpec,
  WARM_PREFIX,
  workerNetworkFrom,
} from './docker-container-spec'

// Callers (index.ts, supervisor-wiring.ts, tests) import the container facts from here, the runtime's one entry point.
export {
  CONTAINER_PREFIX,
  containerNameFor,
  DEFAULT_DOCKER_LIMITS,
  type DockerLimits,
  LABELS,
  WORKER_CAPS,
  WORKER_SERVER_SOCKET,
  workerNetworkFrom,
} from './docker-container-spec'

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

/** A per-agent container's agent: its label, else (a claimed warm container) its name. */
function agentOfContainer(labels: Record<string, string> | undefined, name: string): string | null {
  return labels?.[LABELS.agent] || (labels?.[LABELS.session] ? null : (unitFromName(name)?.agentId ?? null))
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

  private get owner() {
    return { instanceId: this.options.instanceId, runId: this.runId }
  }

  private async createContainer(name: string, claim: WorkerClaim | undefined, volume: string): Promise<Docker.Container> {
    const { image, env, heartbeatMs, serverSocket } = this.options
    const limits = { ...this.limits, memoryBytes: this.memoryFor(claim?.extraMemoryBytes) }
    const spec = { name, image, owner: this.owner, network: this.network, limits, claim, volume, env, heartbeatMs }
    return this.docker.createContainer(containerSpec({ ...spec, serverSocketPath: serverSocket?.path }))
  }

  /** The base limit plus what the worker's agent programs need (worker-memory.ts). */
  private memoryFor(extraMemoryBytes = 0): number {
    return this.limits.memoryBytes + extraMemoryBytes
  }

  async resize(id: string, extraMemoryBytes: number): Promise<void> {
    // Swap stays equal to memory: the container never swaps, as at creation.
    const bytes = this.memoryFor(extraMemoryBytes)
    await this.docker.getContainer(id).update({ Memory: bytes, MemorySwap: bytes })
  }

  private async createVolume(name: string): Promise<string> {
    const volume = `tether-work-${randomBytes(8).toString('hex')}`
    await this.docker.createVolume(volumeSpec(volume, name, this.owner))
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
        agentId: agentOfContainer(c.Config.Labels, cleanName),
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

  private async launch(name: string, claim: WorkerClaim | undefined, volume?: string, seedFrom?: string): Promise<WorkerInfo> {
    await this.watchEvents()
    const vol = volume ?? (await this.createVolume(name))
    const container = await this.createContainer(name, claim, vol)
    // Into the new volume through the created (not yet started) container: the worker's first
    // look at /work already finds the snapshot's files, owners and modes.
    if (seedFrom) await container.putArchive(tarOf(seedFrom), { path: '/work' })
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
      agentId: claim?.agentId ?? null,
      running: true,
      exitCode: null,
      startedAt: Date.now(),
      workDir: vol,
      nativeId: container.id,
    }
  }

  async start(claim?: WorkerClaim, options: StartOptions = {}): Promise<WorkerInfo> {
    const name = claim ? containerNameFor(claim.sessionId, claim.agentId) : `${WARM_PREFIX}${randomBytes(6).toString('hex')}`
    return this.launch(name, claim, undefined, options.seedFrom)
  }

  /**
   * The container's /work as a tar archive from the engine (works while it runs), unpacked on the
   * host. Stops reading once the archive passes what a `maxBytes` tree could take in tar form.
   */
  async snapshotWorkspace(id: string, dest: string, maxBytes: number): Promise<number> {
    const archive = (await this.docker.getContainer(id).getArchive({ path: '/work' })) as unknown as Readable
    try {
      return await untarInto(archive, dest, 1, 2 * maxBytes + 64 * 1024 * 1024)
    } catch (err) {
      if (err instanceof ArchiveTooLargeError) throw new WorkspaceTooLargeError(err.bytes, maxBytes)
      throw err
    }
  }

  async claim(id: string, claim: WorkerClaim): Promise<WorkerInfo> {
    const container = this.docker.getContainer(id)
    const name = containerNameFor(claim.sessionId, claim.agentId)
    // A warm container started with the base limit: room for the claim's agent programs first.
    const { extraMemoryBytes, ...toWorker } = claim
    if (extraMemoryBytes) await this.resize(id, extraMemoryBytes)
    const stream =
      this.warmStdin.get(id) ??
      ((await container.attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true })) as Duplex)
    this.warmStdin.delete(id)
    stream.on('error', () => {})
    await new Promise<void>((resolve, reject) => stream.write(`${JSON.stringify(toWorker)}\n`, (err) => (err ? reject(err) : resolve())))
    // Kept open until stop: the engine may close the container's stdin before it has copied what
    // was written when the attach ends right after a write.
    this.warmStdin.set(name, stream)
    // Renamed after the claim is written, so the claim's latency does not wait for the rename.
    await container.rename({ name })
    const info = await this.infoOf(name)
    if (!info) throw new Error(`container ${name} vanished during its claim`)
    return { ...info, sessionId: claim.sessionId, agentId: claim.agentId ?? null }
  }

  async restart(id: string, claim: WorkerClaim): Promise<WorkerInfo> {
    const old = await this.infoOf(id)
    if (!old) throw new Error(`no container ${id}`)
    this.warmStdin.get(id)?.destroy()
    this.warmStdin.delete(id)
    await this.docker.getContainer(id).remove({ force: true, v: false })
    return this.launch(containerNameFor(claim.sessionId, claim.agentId), claim, old.workDir || undefined)
  }

  async kill(id: string): Promise<void> {
    // The engine's die event then reports the exit as a crash (the container stays for restart()).
    const container = this.docker.getContainer(id)
    const kill = () => container.kill({ signal: 'SIGKILL' })
    await kill().catch(async (err: unknown) => {
      if (isNotFound(err)) return
      const e = err as { statusCode?: number; message?: string }
      // 409: not running (nothing to do) or paused (the engine refuses to kill it: thaw first).
      if (e?.statusCode !== 409) throw err
      if (/paused/i.test(e.message ?? '')) await container.unpause().then(kill)
    })
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
    if (info.workDir)
      await this.docker
        .getVolume(info.workDir)
        .remove()
        .catch(() => {})
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
        agentId: agentOfContainer(c.Labels, name),
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
    const { Volumes } = await this.docker.listVolumes({
      filters: { label: [`${LABELS.instance}=${this.options.instanceId}`], dangling: ['true'] },
    })
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
