/** Finding the Docker engine, and saying clearly when there is none. */
import { describe, expect, it } from 'vitest'
import { DockerUnavailableError, connectDocker, dockerEndpoint } from '../../../src/lib/workers/docker-engine'
import { ensureDockerEngine } from './harness'

describe('docker engine discovery', () => {
  it('uses DOCKER_HOST when set', () => {
    expect(dockerEndpoint({ DOCKER_HOST: 'tcp://10.0.0.1:2375' })).toBe('tcp://10.0.0.1:2375')
  })

  it('fails with a message that names the endpoint and how to start an engine', async () => {
    const endpoint = 'unix:///tmp/tether-no-such-docker.sock'
    const err = await connectDocker(endpoint).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DockerUnavailableError)
    expect((err as Error).message).toContain(endpoint)
    expect((err as Error).message).toContain('scripts/docker-engine.sh')
    expect((err as Error).message).toContain('TETHER_WORKER_RUNTIME=process')
  })

  it('reaches the engine scripts/docker-engine.sh starts (idempotently)', async () => {
    const host = ensureDockerEngine()
    const docker = await connectDocker(host)
    expect((await docker.version()).ApiVersion).toMatch(/^\d+\.\d+$/)
  })
})
