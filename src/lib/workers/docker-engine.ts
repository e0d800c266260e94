/**
 * Finds the Docker engine: DOCKER_HOST when set (unix://, tcp://, http(s)://), else the default
 * socket /var/run/docker.sock, else the socket scripts/docker-engine.sh starts
 * (/run/tether-docker.sock). `connectDocker` pings it and fails with a message that says where it
 * looked and how to start one.
 */
import { existsSync } from 'node:fs'
import { hostEnv } from '../settings/host-env'
import Docker from 'dockerode'

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock'
export const TETHER_DOCKER_SOCKET = '/run/tether-docker.sock'

export class DockerUnavailableError extends Error {
  constructor(
    readonly endpoint: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(
      `No Docker engine reachable at ${endpoint} (${reason}). Start one with \`bash scripts/docker-engine.sh\` ` +
        `(it prints the DOCKER_HOST to use), or set DOCKER_HOST to a running engine, or use TETHER_WORKER_RUNTIME=process.`,
    )
    this.name = 'DockerUnavailableError'
  }
}

/** The endpoint the engine is expected at, as a DOCKER_HOST-style URL. */
export function dockerEndpoint(env: Readonly<Record<string, string | undefined>> = hostEnv()): string {
  if (env.DOCKER_HOST) return env.DOCKER_HOST
  if (existsSync(DEFAULT_DOCKER_SOCKET)) return `unix://${DEFAULT_DOCKER_SOCKET}`
  if (existsSync(TETHER_DOCKER_SOCKET)) return `unix://${TETHER_DOCKER_SOCKET}`
  return `unix://${DEFAULT_DOCKER_SOCKET}`
}

export function dockerClient(endpoint = dockerEndpoint()): Docker {
  if (endpoint.startsWith('unix://')) return new Docker({ socketPath: endpoint.slice('unix://'.length) })
  const url = new URL(endpoint.replace(/^tcp:/, 'http:'))
  const protocol = url.protocol === 'https:' ? 'https' : 'http'
  return new Docker({ host: url.hostname, port: Number(url.port || (protocol === 'https' ? 2376 : 2375)), protocol })
}

/** A client for a reachable engine, or DockerUnavailableError. */
export async function connectDocker(endpoint = dockerEndpoint()): Promise<Docker> {
  const docker = dockerClient(endpoint)
  try {
    await docker.ping()
  } catch (err) {
    throw new DockerUnavailableError(endpoint, err)
  }
  return docker
}
