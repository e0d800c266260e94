/**
 * Session stream compaction (issue #10, bar 6 "stored-size ratio"): a realistic session written
 * through the whole app (createTetherServer served by srvx in this process, auth on, real HTTP on
 * loopback, the built-in SQLite store): 20 turns of a user message and an assistant message of 200
 * chunks each (one append per chunk, 100 tokens/s of session time), presence heartbeats with a
 * cursor every 50 ms for two people, agent-state upserts, a tool call per turn and 20 lines of
 * terminal output per turn. Then, a grace period later, `POST /api/sessions/:id/compact`.
 * Prints stored bytes (sum of the rows' data) and events before and after, the ratio, and how long
 * the compaction took. Session time is an injected clock, so the run does not wait.
 *
 *   tsx bench/scenarios/compaction.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import type { Pool } from 'undici'
import { createTetherServer } from '../../src/lib/tether-server'
import { makePool } from '../http'
import { serveOnLoopback } from '../serve-app'
import { now } from '../stats'
import type { Scenario } from './types'

export interface CompactionBenchResult {
  bytesBefore: number
  bytesAfter: number
  ratio: number
  eventsBefore: number
  eventsAfter: number
  compactMs: number
}

async function post(pool: Pool, path: string, token: string, body: unknown): Promise<string> {
  const res = await pool.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`POST ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`)
  return text
}

export async function measureCompaction(opts: { quick?: boolean; log?: (m: string) => void }): Promise<CompactionBenchResult> {
  const turns = opts.quick ? 4 : 20
  const chunksPerMessage = 200
  let clock = Date.now()
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-bench-compaction-'))
  const app = createTetherServer({
    dataDir,
    now: () => clock,
    logger: pino({ level: 'silent' }),
    sessions: {
      auth: true,
      secret: 'bench-secret-for-compaction-0001',
      monitorIntervalMs: 0,
      ephemeralRemoveAfterMs: 60_000,
      retentionDays: 1,
      maxEventBodyBytes: 1 << 20,
      defaultLimits: {},
    },
  })
  await app.ready
  const server = await serveOnLoopback((req) => app.fetch(req))
  const pool = makePool(server.origin, 1)
  try {
    const admin = await app.issueToken({ role: 'admin', subject: 'bench-admin', ttlSeconds: 3600 })
    const sid = (JSON.parse(await post(pool, '/api/sessions', admin, { pattern: 'long-running' })) as { session: { id: string } }).session.id
    const writer = `/api/streams?sessionId=${sid}`
    const worker = await app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    const people = await Promise.all(
      ['ann', 'bob'].map(async (name, i) => ({
        name,
        color: i === 0 ? '#ff0000' : '#0000ff',
        token: await app.issueToken({ role: 'collaborator', sessionId: sid, subject: `u-${name}` }),
      })),
    )
    const presence = (p: (typeof people)[number], x: number, y: number) =>
      post(pool, writer, p.token, {
        channel: 'presence',
        data: { userId: `u-${p.name}`, displayName: p.name, color: p.color, status: 'active', cursor: { x, y }, focusedPane: 'chat' },
      })
    let nextBeat = clock
    const tick = async (ms: number, turn: number) => {
      clock += ms
      // Both people's heartbeats (cursor moves) every 50 ms of session time.
      while (nextBeat <= clock) {
        for (const p of people) await presence(p, nextBeat % 997, turn)
        nextBeat += 50
      }
    }
    let tokensOut = 0
    const started = now()
    for (let turn = 1; turn <= turns; turn++) {
      const person = people[turn % 2]!
      await post(pool, writer, person.token, {
        channel: 'chunk',
        data: { messageId: `u${turn}`, role: 'user', author: `u-${person.name}`, turn: 0, seq: 0, delta: `Please do step ${turn} of the plan.`, done: true },
      })
      const messageId = `agent-1:t${turn}:s0`
      const state = (status: string) => ({
        channel: 'agent-state',
        data: { agentId: 'agent-1', status, model: 'bench', tokensIn: turn * 500, tokensOut, costUsd: turn / 100, turns: turn - 1 },
      })
      await post(pool, writer, worker, state('thinking'))
      for (let seq = 0; seq < chunksPerMessage; seq++) {
        tokensOut += 1
        await post(pool, writer, worker, {
          channel: 'chunk',
          data: { messageId, role: 'assistant', author: 'agent-1', turn, seq, delta: ` word${seq}`, done: seq === chunksPerMessage - 1 },
        })
        await tick(10, turn)
      }
      const call = (status: string) => ({
        channel: 'tool-call',
        data: { id: `${messageId}:c0`, messageId, agentId: 'agent-1', name: 'bash', input: { command: `make step${turn}` }, status },
      })
      await post(pool, writer, worker, call('pending'))
      await post(pool, writer, worker, state('running-tool'))
      await post(pool, writer, person.token, { channel: 'terminal', data: { id: `in${turn}`, kind: 'input', source: `u-${person.name}`, data: `make step${turn}` } })
      for (let n = 0; n < 20; n++) {
        await post(pool, writer, worker, {
          channel: 'terminal',
          data: { id: `in${turn}:o${n}`, kind: 'output', source: 'agent-1', stream: 'stdout', data: `cc -O2 -c src/file${n}.c -o build/file${n}.o\r\n`, commandId: `in${turn}` },
        })
        await tick(20, turn)
      }
      await post(pool, writer, worker, { channel: 'terminal', data: { id: `in${turn}:o20`, kind: 'exit', source: 'agent-1', exitCode: 0, commandId: `in${turn}` } })
      await post(pool, writer, worker, call('succeeded'))
      await post(pool, writer, worker, state('idle'))
    }
    opts.log?.(`wrote ${turns} turns in ${((now() - started) / 1000).toFixed(1)} s`)
    const size = () =>
      app
        .streams!.sqlite.prepare<[string], { bytes: number; events: number }>(
          `SELECT SUM(length(m.data)) AS bytes, SUM(m.count) AS events FROM messages m JOIN streams s ON s.id = m.stream_id WHERE s.path = ?`,
        )
        .get(`sessions/${sid}`)!
    const before = size()
    clock += 61_000 // past the default grace period
    const t0 = now()
    await post(pool, `/api/sessions/${sid}/compact`, admin, undefined)
    const compactMs = now() - t0
    const after = size()
    return {
      bytesBefore: before.bytes,
      bytesAfter: after.bytes,
      ratio: after.bytes / before.bytes,
      eventsBefore: before.events,
      eventsAfter: after.events,
      compactMs,
    }
  } finally {
    await pool.close()
    await server.close()
    await app.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

export const compaction: Scenario = {
  id: 'compaction',
  title: 'session stream compaction: 20 turns × 200 chunks, presence every 50 ms × 2, terminal output (whole app, built-in store)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'bytesBefore', label: 'stored before', unit: 'bytes', better: 'lower' },
    { key: 'bytesAfter', label: 'stored after', unit: 'bytes', better: 'lower' },
    { key: 'ratio', label: 'stored-size ratio', unit: 'after/before', better: 'lower', digits: 3, target: { op: '<', value: 1 } },
    { key: 'eventsBefore', label: 'events before', unit: 'events', better: 'lower' },
    { key: 'eventsAfter', label: 'events after', unit: 'events', better: 'lower' },
    { key: 'compactMs', label: 'compaction time', unit: 'ms', better: 'lower', digits: 1 },
  ],
  async run({ quick, log }) {
    const r = await measureCompaction({ quick, log })
    return { ...r }
  },
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
  const r = await measureCompaction({ quick: values.quick, log: (m) => console.error(m) })
  console.log(
    `stored ${r.bytesBefore} -> ${r.bytesAfter} bytes (ratio ${r.ratio.toFixed(3)}), events ${r.eventsBefore} -> ${r.eventsAfter}, compaction ${r.compactMs.toFixed(1)} ms`,
  )
  process.exit(0)
}
