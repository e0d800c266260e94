/**
 * Issue 14, bar 3: two production nodes on one PostgreSQL, process workers. The node holding a
 * busy session's lease is killed with SIGKILL mid-turn. The other node takes the session over
 * (its lease, then a worker of its own) within the lease's bound (TTL 6 s + a renewal round), the
 * turn shows interrupted, resumes and ends done; no chunk is lost or written twice, and every
 * append a client had acknowledged, on either node, is in the stream exactly once. The nodes'
 * public URL is a load balancer's: workers reach the node that runs them, not it. Workspace
 * snapshots are on a volume both nodes mount, so the new worker has the files of the last
 * finished turn.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { followSse } from '../support/follow-stream'
import { freshDatabase, type TestDatabase } from '../support/postgres'
import { createSession, readStream, startServer, type TestServer } from './support'

let db: TestDatabase
let sql: postgres.Sql
// Workspace snapshots on a volume both nodes mount (here: one directory).
const workspaces = mkdtempSync(join(tmpdir(), 'tether-shared-workspaces-'))
const nodes: TestServer[] = []
/** The node the first test killed (the second brings it back). */
let killed = -1

beforeAll(async () => {
  db = await freshDatabase()
  sql = postgres(db.url, { max: 1, onnotice: () => {} })
  const shared = {
    TETHER_DATABASE_URL: db.url,
    TETHER_SECRET: randomBytes(24).toString('base64url'),
    TETHER_CREDENTIALS_KEY: randomBytes(32).toString('base64'),
    TETHER_WORKER_RUNTIME: 'process',
    TETHER_WARM_POOL_SIZE_PROCESS: '0',
    // The public URL of a load balancer (here: nothing listens): workers must use their own node's address.
    TETHER_PUBLIC_URL: 'http://127.0.0.1:9',
    TETHER_WORKSPACES_DIR: workspaces,
    // The chunks are checked one by one below: no folding of finished messages meanwhile.
    TETHER_COMPACT_CHUNKS: 'off',
  }
  for (let i = 0; i < 2; i++) nodes.push(await startServer({ ...shared, TETHER_NODE_ID: `node-${i}` }))
}, 180_000)

afterAll(async () => {
  for (const n of nodes) await n.dispose()
  await sql?.end({ timeout: 5 })
  await db?.drop()
  rmSync(workspaces, { recursive: true, force: true })
})

/** Pids of the worker processes serving `sessionId` (the process runtime puts it in their env). */
function workerPids(sessionId: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`TETHER_SESSION_ID=${sessionId}`)) pids.push(Number(entry))
    } catch {
      // gone, or not ours to read
    }
  }
  return pids
}

async function holder(sessionId: string): Promise<{ nodeId: string; fence: number } | null> {
  const [row] = await sql<Array<{ node_id: string; fence: number }>>`SELECT node_id, fence FROM session_leases WHERE session_id = ${sessionId}`
  return row ? { nodeId: row.node_id, fence: Number(row.fence) } : null
}

type Event = { type: string; key: string; value?: Record<string, unknown>; headers?: { eventId?: string } }

describe('a node dies mid-turn', () => {
  it('another node takes the session over, its worker resumes the turn, and nothing acknowledged is lost or doubled', async () => {
    const admin = await nodes[0]!.token('admin')
    const session = await createSession(nodes[0]!, admin, 'Busy when its node dies')
    await expect.poll(() => holder(session.id), { timeout: 30_000 }).not.toBeNull()
    const first = (await holder(session.id))!
    const dying = nodes.findIndex((_, i) => `node-${i}` === first.nodeId)
    expect(dying).toBeGreaterThanOrEqual(0)
    const survivor = nodes[1 - dying]!

    const ask = async (text: string, id: string) => {
      const res = await fetch(`${survivor.url}/api/sessions/${session.id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ text, messageId: id }),
      })
      expect(res.status).toBeLessThan(300)
    }
    const statesOf = async (id: string) =>
      (await readStream(survivor, admin, session.id)).filter((e) => e.type === 'agent-state' && e.key === `turn:${id}`).map((e) => String(e.value?.status))

    // A finished turn leaves a file, snapshotted at the turn's end on the shared volume.
    await ask('/write kept.txt across-nodes', 'm-write')
    await expect.poll(async () => (await statesOf('m-write')).at(-1), { timeout: 60_000 }).toBe('done')
    await expect.poll(() => existsSync(join(workspaces, session.id)) && readdirSync(join(workspaces, session.id)).length > 0, { timeout: 30_000 }).toBe(true)

    // A slow turn, asked through the node that will survive.
    const messageId = `ask-${randomBytes(4).toString('hex')}`
    await ask('/slow /count 150', messageId)
    const turnStates = () => statesOf(messageId)
    await expect.poll(async () => (await turnStates()).includes('streaming'), { timeout: 60_000 }).toBe(true)

    // Clients keep appending through both nodes; only answered (2xx) appends are counted.
    const acknowledged: string[] = []
    const client = await nodes[0]!.token('worker', session.id, 'client-agent')
    let appending = true
    const appendLoop = async (node: TestServer) => {
      for (let n = 0; appending; n++) {
        const id = `c-${node.port}-${n}`
        const res = await fetch(`${node.url}/api/streams?sessionId=${session.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${client}` },
          body: JSON.stringify({ channel: 'chunk', id, data: { messageId: id, role: 'assistant', author: 'client-agent', turn: 1, seq: 0, delta: id, done: true } }),
        }).catch(() => null)
        if (res?.ok) acknowledged.push(id)
        await res?.arrayBuffer().catch(() => undefined)
        if (!res) await new Promise((r) => setTimeout(r, 50))
      }
    }
    const loops = [appendLoop(nodes[dying]!), appendLoop(survivor)]
    await new Promise((r) => setTimeout(r, 500))

    // Followed live: session compaction keeps only a turn record's first and last events, so a
    // read after the turn may no longer hold the states in between.
    const liveStates = followSse(`${survivor.url}/api/streams/sessions/${session.id}`, {
      count: 5,
      keep: (m) => (m as Event).type === 'agent-state' && (m as Event).key === `turn:${messageId}`,
      pick: (m) => String((m as Event).value?.status),
      headers: { authorization: `Bearer ${admin}` },
    })

    const oldWorkers = workerPids(session.id)
    // The nodes' shared secrets and the database URL (with its password) are never in a worker's environment.
    expect(oldWorkers.length).toBeGreaterThan(0)
    for (const pid of oldWorkers) {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1')
      for (const name of ['TETHER_DATABASE_URL', 'TETHER_SECRET', 'TETHER_CREDENTIALS_KEY']) expect(env).not.toContain(`${name}=`)
      expect(env).not.toContain(db.url)
    }
    await nodes[dying]!.stop('SIGKILL')
    killed = dying
    const killedAt = Date.now()
    // The lease moves to the survivor with a higher fence: the bound is the lease TTL plus a round.
    await expect.poll(async () => (await holder(session.id))?.nodeId, { timeout: 10_000, interval: 200 }).toBe(`node-${1 - dying}`)
    const takeoverMs = Date.now() - killedAt
    expect((await holder(session.id))!.fence).toBeGreaterThan(first.fence)
    console.log(`lease taken over ${takeoverMs} ms after SIGKILL`)

    await expect.poll(async () => (await turnStates()).at(-1), { timeout: 120_000, interval: 500 }).toBe('done')
    appending = false
    await Promise.all(loops)
    // The killed node's worker may outlive it; it must not have written after its lease moved.
    for (const pid of oldWorkers) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }

    expect(await liveStates).toEqual(['accepted', 'streaming', 'interrupted', 'streaming', 'done'])
    // What compaction keeps says so too: the last record counts the interruption.
    const last = (await readStream(survivor, admin, session.id)).filter((e) => e.type === 'agent-state' && e.key === `turn:${messageId}`).at(-1)
    expect(last?.value).toMatchObject({ status: 'done', interruptions: 1 })

    // The new node's worker started from the shared snapshot: the file of the first turn is there.
    await ask('/run cat kept.txt', 'm-cat')
    await expect.poll(async () => (await statesOf('m-cat')).at(-1), { timeout: 60_000 }).toBe('done')
    const shellCalls = (await readStream(survivor, admin, session.id)).filter((e) => e.type === 'tool-call' && JSON.stringify(e.value).includes('cat kept.txt'))
    expect(shellCalls.some((e) => JSON.stringify(e.value).includes('across-nodes'))).toBe(true)

    const events = (await readStream(survivor, admin, session.id)) as Event[]
    // No chunk twice: every (message, seq) once.
    const chunkKeys = events.filter((e) => e.type === 'chunk').map((e) => `${String(e.value?.messageId)}#${String(e.value?.seq)}`)
    expect(new Set(chunkKeys).size).toBe(chunkKeys.length)
    // The agent's messages: each one's seqs 0..n without a hole; the slow turn's answer counts to 150 once.
    const byMessage = new Map<string, Event[]>()
    for (const e of events) {
      if (e.type !== 'chunk' || e.value?.role !== 'assistant' || e.value?.author === 'client-agent') continue
      const id = String(e.value?.messageId)
      byMessage.set(id, [...(byMessage.get(id) ?? []), e])
    }
    const texts = [...byMessage.values()].map((chunks) => {
      const seqs = chunks.map((e) => Number(e.value?.seq)).sort((x, y) => x - y)
      expect(seqs).toEqual(seqs.map((_, i) => i))
      return chunks
        .sort((x, y) => Number(x.value?.seq) - Number(y.value?.seq))
        .map((e) => String(e.value?.delta ?? ''))
        .join('')
    })
    const counted = texts.filter((t) => /^\s*1 2 3/.test(t))
    expect(counted).toHaveLength(1)
    expect(counted[0]!.trim().split(/\s+/)).toEqual(Array.from({ length: 150 }, (_, i) => String(i + 1)))
    // Every acknowledged client append, on either node, exactly once.
    const ids = events.map((e) => e.headers?.eventId)
    expect(acknowledged.length).toBeGreaterThan(0)
    for (const id of acknowledged) expect(ids.filter((x) => x === id)).toHaveLength(1)
  }, 300_000)

  it('a node stopped with SIGTERM (a rolling upgrade) has handed its sessions over by the time it exits', async () => {
    // Both nodes up again: the killed one restarts on its data dir.
    if (killed >= 0) await nodes[killed]!.restart()
    const admin = await nodes[0]!.token('admin')
    const session = await createSession(nodes[0]!, admin, 'Busy during an upgrade')
    await expect.poll(() => holder(session.id), { timeout: 30_000 }).not.toBeNull()
    const before = (await holder(session.id))!
    const leaving = nodes.findIndex((_, i) => `node-${i}` === before.nodeId)
    const staying = nodes[1 - leaving]!
    const messageId = `up-${randomBytes(4).toString('hex')}`
    const res = await fetch(`${staying.url}/api/sessions/${session.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ text: '/slow /count 80', messageId }),
    })
    expect(res.status).toBeLessThan(300)
    const states = async () =>
      (await readStream(staying, admin, session.id)).filter((e) => e.type === 'agent-state' && e.key === `turn:${messageId}`).map((e) => String(e.value?.status))
    await expect.poll(async () => (await states()).includes('streaming'), { timeout: 60_000 }).toBe(true)
    const liveStates = followSse(`${staying.url}/api/streams/sessions/${session.id}`, {
      count: 5,
      keep: (m) => (m as Event).type === 'agent-state' && (m as Event).key === `turn:${messageId}`,
      pick: (m) => String((m as Event).value?.status),
      headers: { authorization: `Bearer ${admin}` },
    })

    await nodes[leaving]!.stop('SIGTERM')
    // Exited: its lease is already released (expiry 0) or taken, not left to lapse.
    const [row] = await sql<Array<{ node_id: string; expires_at: number }>>`SELECT node_id, expires_at FROM session_leases WHERE session_id = ${session.id}`
    expect(row!.node_id !== before.nodeId || Number(row!.expires_at) === 0).toBe(true)
    expect(nodes[leaving]!.output()).not.toMatch(/drain failed/)
    await expect.poll(async () => (await holder(session.id))?.nodeId, { timeout: 10_000, interval: 200 }).toBe(`node-${1 - leaving}`)
    expect(await liveStates).toEqual(['accepted', 'streaming', 'interrupted', 'streaming', 'done'])
  }, 240_000)
})
