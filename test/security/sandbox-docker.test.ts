/**
 * Issue #8, docker runtime: a collaborator (share link) types into the session's terminal, which
 * runs in the worker's container. Through the production build with TETHER_WORKER_RUNTIME=docker,
 * what they type must not reveal the worker token (in the worker's environment), a provider key
 * (the server's environment), the token signing secret (a file on the host) or a service on the
 * host's loopback; an ordinary command still works.
 */
import type Docker from 'dockerode'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dockerClient } from '../../src/lib/workers/docker-engine'
import { ensureWorkerImage } from '../../src/lib/workers/image/build'
import { containerNameFor } from '../../src/lib/workers/runtimes/docker'
import { issueToken, secretFromString } from '../../src/lib/sessions/tokens'
import { ensureDockerEngine } from '../lib/workers/harness'
import { startProductionServer, type ProductionServer } from '../support/production-server'
import { securityClient, type SecurityClient } from './support'

const FAKE_PROVIDER_KEY = 'sk-ant-fake-provider-key-for-the-sandbox-test-0123456789'
const HOST_BANNER = 'host-loopback-service-banner'

let docker: Docker
let server: ProductionServer
let listener: Server
let listenerPort = 0
let listenerHits = 0
let secret = ''
let admin = ''
let client: SecurityClient

beforeAll(async () => {
  ensureDockerEngine()
  docker = dockerClient()
  await ensureWorkerImage({ docker })
  listener = createServer((s) => {
    listenerHits++
    s.end(`${HOST_BANNER}\n`)
  })
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
  listenerPort = (listener.address() as { port: number }).port
  server = await startProductionServer({
    TETHER_WORKER_RUNTIME: 'docker',
    // Cold starts: the token is then in the container's environment, the case to defend.
    TETHER_WARM_POOL_SIZE: '0',
    DOCKER_HOST: process.env.DOCKER_HOST ?? '',
    ANTHROPIC_API_KEY: FAKE_PROVIDER_KEY,
  })
  // TETHER_SECRET unset: the server keeps its secret in the data dir, a path to try from inside.
  secret = readFileSync(join(server.dataDir, 'secret'), 'utf8').trim()
  admin = await issueToken(secretFromString(secret), { role: 'admin', subject: 'admin-user' })
  client = securityClient(server, admin, { waitTimeoutMs: 90_000 })
}, 300_000)

afterAll(async () => {
  listener?.close()
  await server?.dispose()
})

describe('docker worker sandbox, as a collaborator in the terminal', { timeout: 300_000 }, () => {
  it('cannot read the worker token, a provider key, the signing secret or a host loopback service; echo still works', async () => {
    const session = await client.sessionWithCollaborator({ title: 'sandbox', agent: { model: 'echo' } }, { awaitWorker: true })
    const id = session.id
    const container = await docker.getContainer(containerNameFor(id)).inspect()
    const workerToken = container.Config.Env.find((e) => e.startsWith('TETHER_WORKER_TOKEN='))?.slice('TETHER_WORKER_TOKEN='.length)
    expect(workerToken).toMatch(/^ey/)

    // A viewer may not type at all.
    const viewer = await issueToken(secretFromString(secret), { role: 'viewer', sessionId: id })
    const refused = await client.api(`/api/streams?sessionId=${id}`, viewer, {
      channel: 'terminal',
      data: { kind: 'input', source: 'v', data: 'env' },
    })
    expect(refused.status).toBe(403)

    const lines = [
      'cat /proc/1/environ; echo',
      'tr "\\0" "\\n" < /proc/$PPID/environ',
      'env',
      `(exec 3<>/dev/tcp/127.0.0.1/${listenerPort} && cat <&3); echo tcp-exit=$?`,
      `cat ${join(server.dataDir, 'secret')}`,
      'echo $((40+2))ok',
    ]
    const output = await client.typeInTerminal(session, lines, '42ok')

    expect(output).toMatch(/tcp-exit=[1-9]/)
    expect(output).not.toContain(workerToken)
    expect(output).not.toContain('TETHER_WORKER_TOKEN')
    expect(output).not.toContain(FAKE_PROVIDER_KEY)
    expect(output).not.toContain(secret)
    expect(output).not.toContain(HOST_BANNER)
    expect(listenerHits).toBe(0)

    const ended = await client.api(`/api/sessions/${id}/terminate`, admin, {})
    expect(ended.status).toBe(200)
    await client.waitFor(
      'the container to be removed',
      async () =>
        (await docker
          .getContainer(containerNameFor(id))
          .inspect()
          .catch(() => null)) === null,
      30_000,
    )
  })
})
