/**
 * What a worker container is, as data: its name, labels, limits, network, environment, mounts and
 * hardening, built as the Docker Engine API's create options. No engine calls here: docker.ts
 * runs the lifecycle (create, claim, restart, stop, events) with what this module describes.
 *
 * A session's container is named `tether-agent-<sessionId>` and labelled with the session id and
 * this server's instance id. A session that runs one worker per agent (issue #15) names the
 * other agents' containers `tether-agent-<sessionId>--<agentId>`, labelled with the agent too. It runs the worker image (image/build.ts) with no-new-privileges, a
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
 */
import type Docker from 'dockerode'
import { claimEnv, forwardedEnv, WORKER_NODE_FLAGS, type WorkerClaim } from '../runtime'

export const CONTAINER_PREFIX = 'tether-agent-'
export const WARM_PREFIX = 'tether-warm-'
export const LABELS = {
  managedBy: 'tether.managed-by',
  instance: 'tether.instance',
  session: 'tether.session',
  /** The agent of a per-agent container that is not the session's main one; '' otherwise. */
  agent: 'tether.agent',
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
 * The image's entrypoint (image/build.ts, src/worker/Dockerfile) with the workers' node flags
 * (runtime.ts WORKER_NODE_FLAGS): set per container, so an image built before the flags, or
 * one from the Dockerfile, runs with them too.
 */
export const WORKER_ENTRYPOINT: readonly string[] = ['/usr/local/bin/node', ...WORKER_NODE_FLAGS, '/app/worker.cjs']
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
      "TETHER_WORKER_NETWORK=host is refused: a worker container on the host network lets the agent's shell tool and " +
        "anyone with a share link (the terminal) reach every service on the host's 127.0.0.1. Use `none` (the default; " +
        'workers still reach Tether through its socket) or the name of a Docker network you made for egress.',
    )
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(network)) throw new Error(`TETHER_WORKER_NETWORK=${network} is not a Docker network name`)
  return network
}

/** Separates the agent from the session in a per-agent container's name. */
export const AGENT_SUFFIX = '--'

export const containerNameFor = (sessionId: string, agentId?: string | null): string =>
  `${CONTAINER_PREFIX}${sessionId}${agentId ? `${AGENT_SUFFIX}${agentId}` : ''}`

/** Session ids as newSessionId makes them: fixed length, so a `--` inside one is not the agent's suffix. */
const NAME_WITH_SESSION_ID = /^(s_[A-Za-z0-9_-]{14})(?:--([a-z][a-z0-9_-]{0,31}))?$/

/**
 * Session and agent of a container's name, for containers whose labels do not say (a claimed warm
 * container keeps the empty labels it was created with). Base64url session ids may hold `--`, so
 * the usual id shape is matched first; any other id splits at its first `--`.
 */
export function unitFromName(name: string): { sessionId: string; agentId: string | null } | null {
  const clean = name.replace(/^\//, '')
  if (!clean.startsWith(CONTAINER_PREFIX)) return null
  const rest = clean.slice(CONTAINER_PREFIX.length)
  const m = NAME_WITH_SESSION_ID.exec(rest)
  if (m) return { sessionId: m[1], agentId: m[2] ?? null }
  const cut = rest.indexOf(AGENT_SUFFIX)
  return cut > 0 ? { sessionId: rest.slice(0, cut), agentId: rest.slice(cut + AGENT_SUFFIX.length) || null } : { sessionId: rest, agentId: null }
}

export function sessionFromName(name: string): string | null {
  return unitFromName(name)?.sessionId ?? null
}

/** Who the container belongs to: this server instance, and this run of it (leftovers are told apart). */
export interface ContainerOwner {
  instanceId: string
  runId: string
}

export interface ContainerSpecInput {
  name: string
  image: string
  owner: ContainerOwner
  network: string
  limits: DockerLimits
  /** The session's claim, or undefined for a warm-pool container that waits for one on stdin. */
  claim: WorkerClaim | undefined
  volume: string
  /** The server socket's host path, bind-mounted at WORKER_SERVER_SOCKET. */
  serverSocketPath?: string
  heartbeatMs?: number
  /** The worker's environment; forwardedEnv() when absent. */
  env?: Record<string, string>
}

/** The create options for one worker container. */
export function containerSpec(input: ContainerSpecInput): Docker.ContainerCreateOptions {
  const { claim, volume, limits, serverSocketPath } = input
  const env = {
    TETHER_WORK_DIR: '/work',
    HOME: '/work',
    ...(input.heartbeatMs ? { TETHER_HEARTBEAT_MS: String(input.heartbeatMs) } : {}),
    ...(input.env ?? forwardedEnv()),
    // After the forwarded env: nothing from the server's environment may loosen these.
    TETHER_SANDBOX: WORKER_SANDBOX,
    ...(serverSocketPath ? { TETHER_SERVER_SOCKET: WORKER_SERVER_SOCKET } : {}),
    ...(claim ? claimEnv(claim) : { TETHER_WARM: '1' }),
  }
  return {
    name: input.name,
    Image: input.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABELS.managedBy]: 'tether',
      [LABELS.instance]: input.owner.instanceId,
      [LABELS.session]: claim?.sessionId ?? '',
      [LABELS.agent]: claim?.agentId ?? '',
      [LABELS.volume]: volume,
      [LABELS.run]: input.owner.runId,
    },
    Entrypoint: [...WORKER_ENTRYPOINT],
    User: '0:0',
    WorkingDir: '/work',
    OpenStdin: !claim,
    StdinOnce: false,
    AttachStdin: false,
    Tty: false,
    HostConfig: {
      NetworkMode: input.network,
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      PidsLimit: limits.pidsLimit,
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: [...WORKER_CAPS],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
      Mounts: [
        { Type: 'volume', Source: volume, Target: '/work' },
        ...(serverSocketPath ? [{ Type: 'bind' as const, Source: serverSocketPath, Target: WORKER_SERVER_SOCKET }] : []),
      ],
      AutoRemove: false,
      RestartPolicy: { Name: 'no' },
    },
  }
}

/** The create options for a container's /work volume (labelled so orphans can be found and removed). */
export function volumeSpec(volume: string, container: string, owner: ContainerOwner): Docker.VolumeCreateOptions {
  return {
    Name: volume,
    Labels: { [LABELS.managedBy]: 'tether', [LABELS.instance]: owner.instanceId, [LABELS.run]: owner.runId, 'tether.container': container },
  }
}
