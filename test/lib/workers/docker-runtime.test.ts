/**
 * Agent workers in real Docker containers. The setup starts an engine when none runs
 * (scripts/docker-engine.sh installs docker.io and starts dockerd) and builds the worker image
 * without a registry (bundle + rootfs from this host + docker import) when it is missing.
 */
import type Docker from 'dockerode'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { networkInterfaces } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureWorkerImage } from '../../../src/lib/workers/image/build'
import { LABELS, WORKER_CAPS, WORKER_SERVER_SOCKET, containerNameFor, demuxLogs } from '../../../src/lib/workers/runtimes/docker'
import { instanceIdFor } from '../../../src/lib/workers/supervisor-wiring'
import {
  answerText,
  chunkGaps,
  duplicateImmutableEvents,
  inspectContainer,
  latestAgentState,
  ofType,
  prepareDocker,
  startDockerHarness,
  startWorkerHarness,
  turnEnded,
  type WorkerHarness,
} from './harness'

const count = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1)).join(' ')

let docker: Docker

const containerOf = (sessionId: string) => inspectContainer(docker, containerNameFor(sessionId))

/** Runs `command` in a running container as `user` (docker exec), returns stdout + stderr. */
async function execIn(containerId: string, command: string, user = '1000:1000'): Promise<string> {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: ['bash', '-c', command], User: user, AttachStdout: true, AttachStderr: true })
  const stream = await exec.start({ hijack: true, stdin: false })
  const chunks: Buffer[] = []
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', resolve)
    stream.on('error', reject)
  })
  return demuxLogs(Buffer.concat(chunks))
}

async function volumeExists(name: string): Promise<boolean> {
  try {
    await docker.getVolume(name).inspect()
    return true
  } catch {
    return false
  }
}

beforeAll(async () => {
  docker = await prepareDocker()
})

describe('docker runtime', { timeout: 120_000 }, () => {
  let h: WorkerHarness

  beforeAll(async () => {
    h = await startDockerHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  it('gives a session its own container: named, labelled, limited, no host network, few capabilities, read-only root', async () => {
    const id = await h.createSession()
    await h.waitFor(id, latestAgentState, 'the worker to announce itself')
    const c = (await containerOf(id))!
    expect(c.Name).toBe(`/tether-agent-${id}`)
    expect(c.State.Running).toBe(true)
    expect(c.Config.Labels[LABELS.session]).toBe(id)
    expect(c.Config.Labels[LABELS.instance]).toBe(instanceIdFor(h.dataDir))
    // Root in the container, for the setuid drop of the shell tool and terminal to uid 1000.
    expect(c.Config.User).toBe('0:0')
    expect(c.HostConfig.NetworkMode).toBe('none')
    expect(c.HostConfig.Memory).toBe(512 * 1024 * 1024)
    expect(c.HostConfig.NanoCpus).toBe(1_000_000_000)
    expect(c.HostConfig.Privileged).toBe(false)
    expect(c.HostConfig.CapDrop).toEqual(['ALL'])
    expect([...(c.HostConfig.CapAdd ?? [])].sort()).toEqual([...WORKER_CAPS].sort())
    expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges')
    expect(c.HostConfig.ReadonlyRootfs).toBe(true)
    expect(c.Mounts.find((m) => m.Destination === '/work')?.Type).toBe('volume')
    const socket = c.Mounts.find((m) => m.Destination === WORKER_SERVER_SOCKET)
    expect(socket?.Type).toBe('bind')
    expect(socket?.Source).toMatch(/tether-run-[^/]+\/server\.sock$/)
    // The worker got its identity and nothing else from the host.
    const env = c.Config.Env.map((e) => e.split('=')[0])
    expect(env).toEqual(
      expect.arrayContaining(['TETHER_SESSION_ID', 'TETHER_SERVER_URL', 'TETHER_WORKER_TOKEN', 'TETHER_SERVER_SOCKET', 'TETHER_SANDBOX']),
    )
    expect(c.Config.Env).toContain('TETHER_SANDBOX=setuid:1000:1000')
    expect(env).not.toContain('TETHER_SECRET')
    const runtime = await h.supervisor.runtime('docker')
    expect(await runtime.logs(`tether-agent-${id}`)).toContain('"msg":"worker started"')
    expect(await runtime.inspect(`tether-agent-${id}`)).toMatchObject({ sessionId: id, running: true, runtime: 'docker', nativeId: c.Id })
  })

  it('keeps the host loopback out of reach of processes in the container, while the worker reaches the server', async () => {
    // A service on the host (all addresses), like another Tether with TETHER_AUTH=off.
    const hostIp =
      Object.values(networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1'
    let reached = 0
    const listener: Server = createServer((s) => {
      reached++
      s.end('host-secret\n')
    })
    await new Promise<void>((r) => listener.listen(0, '0.0.0.0', r))
    const port = (listener.address() as { port: number }).port
    try {
      const id = await h.createSession()
      await h.waitFor(id, latestAgentState, 'the worker to announce itself')
      // Through the socket, the worker answers a message.
      await h.postMessage(id, 'through the socket')
      const events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1')
      expect(answerText(events, 1)).toBe('Echo: through the socket')

      const c = (await containerOf(id))!
      const out = await execIn(
        c.Id,
        `(exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3) 2>&1; echo "tcp-exit=$?"; ` +
          `cat /proc/1/environ 2>&1; echo "environ-exit=$?"; ` +
          `(exec 3<>/dev/tcp/${hostIp}/${port} && cat <&3) 2>&1; echo "host-ip-exit=$?"; echo ok`,
      )
      expect(out).not.toContain('host-secret')
      expect(out).toMatch(/tcp-exit=[1-9]/)
      expect(out).toMatch(/host-ip-exit=[1-9]/)
      expect(out).toContain('Permission denied')
      expect(out).toMatch(/environ-exit=[1-9]/)
      expect(out).not.toContain('TETHER_WORKER_TOKEN')
      expect(out).toContain('ok')
      expect(reached).toBe(0)
      // The server socket is root's: uid 1000 cannot open it either.
      const socketOut = await execIn(
        c.Id,
        `ls -ln ${WORKER_SERVER_SOCKET}; test -w ${WORKER_SERVER_SOCKET} && echo writable || echo not-writable`,
      )
      expect(socketOut).toContain('not-writable')
    } finally {
      listener.close()
    }
  })

  it('streams an answer as chunk events and runs the tool call inside the container', async () => {
    const id = await h.createSession()
    await h.postMessage(id, '/count 200')
    await h.postMessage(id, '/run id -u; test -f /app/worker.cjs && echo inside-the-container; touch /etc/x 2>&1; echo work=$PWD')
    const events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'two turns')
    expect(answerText(events, 1)).toBe(count(200))
    expect(ofType(events, 'chunk').filter((e) => e.value.turn === 1 && e.value.role === 'assistant').length).toBeGreaterThan(1)
    const call = ofType(events, 'tool-call').at(-1)!.value
    expect(call).toMatchObject({ name: 'shell', status: 'succeeded' })
    const output: string = call.output.output
    expect(output).toContain('1000\n')
    expect(output).toContain('inside-the-container')
    expect(output).toContain('Read-only file system')
    expect(output).toContain('work=/work')
    // The host has no /app/worker.cjs: the command did not run here.
    expect(existsSync('/app/worker.cjs')).toBe(false)
  })

  it('publishes terminal output of a command typed into the session', async () => {
    const id = await h.createSession()
    await h.waitFor(id, latestAgentState, 'worker ready')
    const res = await h.request(`/api/streams?sessionId=${id}`, {
      json: {
        channel: 'terminal',
        data: {
          id: 'cmd-docker',
          kind: 'input',
          source: 'admin-user',
          data: 'printf "\\033[32mgreen\\033[0m\\n"; echo uid=$(id -u) host=$(hostname)',
        },
      },
    })
    expect(res.status).toBe(200)
    const output = await h.waitFor(
      id,
      (e) => {
        const text = ofType(e, 'terminal')
          .filter((t) => t.value.kind === 'output' && t.value.commandId === 'cmd-docker')
          .map((t) => t.value.data)
          .join('')
        return text.includes('uid=1000') && text
      },
      'terminal output',
    )
    expect(output).toContain('\u001b[32mgreen\u001b[0m')

    // Cursor movement through the image's terminfo, and a resize of the pty.
    const resize = await h.request(`/api/streams?sessionId=${id}`, {
      json: [
        { channel: 'terminal', data: { id: 'resize-1', kind: 'resize', source: 'admin-user', cols: 100, rows: 30 } },
        {
          channel: 'terminal',
          data: { id: 'cmd-tput', kind: 'input', source: 'admin-user', data: 'tput cup 2 3; echo; echo cols=$(tput cols)' },
        },
      ],
    })
    expect(resize.status).toBe(200)
    const tput = await h.waitFor(
      id,
      (e) => {
        const text = ofType(e, 'terminal')
          .filter((t) => t.value.kind === 'output' && t.value.commandId === 'cmd-tput')
          .map((t) => t.value.data)
          .join('')
        return text.includes('cols=100') && text
      },
      'tput output',
    )
    expect(tput).toContain('\u001b[3;4H')
  })

  it('restarts a killed container, keeps its work dir, and resumes the turn without duplicates or gaps', async () => {
    const id = await h.createSession()
    await h.postMessage(id, '/write keep.txt survives the crash')
    await h.waitFor(id, (e) => turnEnded(e, 1), 'file written')
    const before = (await containerOf(id))!
    await h.postMessage(id, '/slow /count 90')
    await h.waitFor(id, (e) => answerText(e, 2).split(' ').length >= 8, 'turn 2 under way')
    await docker.getContainer(before.Id).kill({ signal: 'SIGKILL' })
    let events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'the resumed turn to end')
    expect(answerText(events, 2)).toBe(count(90))
    expect(duplicateImmutableEvents(events)).toEqual([])
    expect(chunkGaps(events)).toEqual([])
    expect(latestAgentState(events)).toMatchObject({ status: 'idle', restarts: 1 })
    const after = (await containerOf(id))!
    expect(after.Id).not.toBe(before.Id)
    expect(after.State.Running).toBe(true)
    await h.postMessage(id, '/read keep.txt')
    events = await h.waitFor(id, (e) => turnEnded(e, 3) && e, 'read after restart')
    expect(ofType(events, 'tool-call').at(-1)!.value).toMatchObject({
      name: 'read_file',
      status: 'succeeded',
      output: 'survives the crash',
    })
  })

  it('removes the container and its volume when the session is terminated', async () => {
    const id = await h.createSession()
    await h.waitFor(id, latestAgentState, 'worker ready')
    const c = (await containerOf(id))!
    const volume = c.Mounts.find((m) => m.Destination === '/work')!.Name!
    expect(await volumeExists(volume)).toBe(true)
    const res = await h.request(`/api/sessions/${id}/terminate`, { json: {} })
    expect(res.status).toBe(200)
    await expect.poll(() => containerOf(id), { timeout: 30_000 }).toBeNull()
    await expect.poll(() => volumeExists(volume), { timeout: 30_000 }).toBe(false)
    expect(h.supervisor.workerOf(id)).toBeNull()
  })
})

describe('docker warm pool', { timeout: 120_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'docker', warmPool: { docker: 2 } })
    await h.supervisor.runtime('docker')
  })
  afterAll(async () => {
    await h?.close()
  })

  it('keeps started containers ready and renames the claimed one after its session', async () => {
    const pool = h.supervisor.pool('docker')!
    await expect.poll(() => pool.available, { timeout: 60_000 }).toBe(2)
    const id = await h.createSession()
    await h.postMessage(id, 'hi from a warm container')
    const events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1')
    expect(answerText(events, 1)).toBe('Echo: hi from a warm container')
    expect(h.supervisor.workerOf(id)?.restarts).toBe(0)
    expect(ofType(events, 'agent-state').every((e) => e.value.kind !== 'state' || e.value.restarts === 0)).toBe(true)
    const c = (await containerOf(id))!
    expect(c.State.Running).toBe(true)
    // Started before its session existed: its environment carries no identity.
    expect(c.Config.Env.some((e) => e.startsWith('TETHER_WORKER_TOKEN='))).toBe(false)
    await expect.poll(() => pool.available, { timeout: 60_000 }).toBe(2)
  })

  it("raises a claimed container's memory for its agent programs, and again when an agent joins", async () => {
    const MiB = 1024 * 1024
    const pool = h.supervisor.pool('docker')!
    await expect.poll(() => pool.available, { timeout: 60_000 }).toBe(2)
    const id = await h.createSession({ pattern: 'single-container', agents: [{ id: 'a', model: 'echo', adapter: 'claude-agent-sdk' }] })
    await h.waitFor(id, latestAgentState, 'the worker to announce itself')
    let c = (await containerOf(id))!
    // A warm container (no identity in its environment), claimed with room for Claude Code.
    expect(c.Config.Env.some((e) => e.startsWith('TETHER_WORKER_TOKEN='))).toBe(false)
    expect(c.HostConfig.Memory).toBe((512 + 512) * MiB)
    expect(c.HostConfig.MemorySwap).toBe((512 + 512) * MiB)
    // An OpenCode agent joins the same container: its limit grows without a restart.
    const added = await h.request(`/api/sessions/${id}/agents`, { json: { id: 'b', model: 'echo', adapter: 'opencode' } })
    expect(added.status).toBe(201)
    await expect.poll(async () => (await containerOf(id))!.HostConfig.Memory, { timeout: 30_000 }).toBe((512 + 512 + 1024) * MiB)
    c = (await containerOf(id))!
    expect(c.HostConfig.MemorySwap).toBe((512 + 512 + 1024) * MiB)
    expect(h.supervisor.workerOf(id)?.restarts).toBe(0)
    await expect.poll(() => pool.available, { timeout: 60_000 }).toBe(2)
  })

  it('removes idle warm containers when the server closes', async () => {
    const instance = instanceIdFor(h.dataDir)
    await h.close()
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${instance}`] } })
    expect(left).toEqual([])
  })
})

describe('runtime per session', { timeout: 120_000 }, () => {
  it('runs a session in docker when its metadata asks for it, on a server whose default is process', async () => {
    const h = await startWorkerHarness({ runtime: 'process' })
    try {
      const inDocker = await h.createSession({ metadata: { workerRuntime: 'docker' } })
      const inProcess = await h.createSession()
      await h.waitFor(inDocker, latestAgentState, 'docker worker ready')
      await h.waitFor(inProcess, latestAgentState, 'process worker ready')
      expect(h.supervisor.workerOf(inDocker)?.runtime).toBe('docker')
      expect(h.supervisor.workerOf(inProcess)?.runtime).toBe('process')
      expect((await containerOf(inDocker))?.State.Running).toBe(true)
      expect(await containerOf(inProcess)).toBeNull()
    } finally {
      await h.close()
    }
  })
})

describe('docker reconcile on server start', { timeout: 120_000 }, () => {
  it("restarts live sessions' workers from an earlier run and removes orphaned containers", async () => {
    const first = await startWorkerHarness({ runtime: 'docker', hooks: { stopWorkersOnClose: false } })
    const dataDir = first.dataDir
    const id = await first.createSession()
    await first.postMessage(id, 'before the restart')
    await first.waitFor(id, (e) => turnEnded(e, 1), 'turn 1')
    const before = (await containerOf(id))!
    // A container the new server knows nothing about (its session is gone).
    const image = (await ensureWorkerImage({ docker })).ref
    const orphan = await docker.createContainer({
      name: `tether-agent-gone-${Date.now()}`,
      Image: image,
      Env: ['TETHER_WARM=1'],
      OpenStdin: true,
      Labels: {
        [LABELS.managedBy]: 'tether',
        [LABELS.instance]: instanceIdFor(dataDir),
        [LABELS.session]: 'gone',
        [LABELS.run]: 'earlier',
      },
      HostConfig: { NetworkMode: 'none' },
    })
    await orphan.start()
    await first.close()
    expect((await containerOf(id))?.State.Running).toBe(true)

    const second = await startWorkerHarness({ runtime: 'docker', dataDir })
    try {
      await expect.poll(async () => (await containerOf(id))?.Id, { timeout: 60_000 }).not.toBe(before.Id)
      await expect.poll(async () => (await orphan.inspect().catch(() => null)) === null, { timeout: 60_000 }).toBe(true)
      await second.postMessage(id, 'after the restart')
      const events = await second.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2 on the new server')
      expect(answerText(events, 2)).toBe('Echo: after the restart')
      expect(duplicateImmutableEvents(events)).toEqual([])
    } finally {
      await second.close()
    }
    expect(await containerOf(id)).toBeNull()
  })
})
