/**
 * The lease store (session-leases.ts) on SQLite and on PostgreSQL: the same statements, each one
 * atomic on its own (an upsert with a condition, an UPDATE … RETURNING), so no transaction spans
 * a round trip. SQLite takes the time from the node's clock (one node); PostgreSQL from the
 * database's, so every node judges expiry by one clock.
 */
import type Database from 'better-sqlite3'
import type { Sql } from 'postgres'
import { DB_NOW_MS } from '../db/pg-clock'
import type { Lease, LeaseStore, NodeInfo } from './session-leases'

interface LeaseRow {
  session_id: string
  node_id: string
  fence: number
  expires_at: number
}
interface NodeRow {
  node_id: string
  capacity: number
  running: number
  heartbeat_at: number
  draining: boolean | number
}

const toLease = (r: LeaseRow): Lease => ({ sessionId: r.session_id, nodeId: r.node_id, fence: Number(r.fence), expiresAt: Number(r.expires_at) })
const toNode = (r: NodeRow): NodeInfo => ({
  nodeId: r.node_id,
  capacity: Number(r.capacity),
  running: Number(r.running),
  heartbeatAt: Number(r.heartbeat_at),
  draining: Boolean(r.draining),
})

const LEASE_COLUMNS = 'session_id, node_id, fence, expires_at'

/**
 * Granted when the row is new, or ours and live (a renewal: same fence), or lapsed (a new start:
 * fence + 1, whoever held it). `:now` and `:ttl` are bound per engine below.
 */
const ACQUIRE = `INSERT INTO session_leases AS l (session_id, node_id, fence, expires_at) VALUES (:sid, :node, 1, :now + :ttl)
  ON CONFLICT (session_id) DO UPDATE SET
    fence = CASE WHEN l.node_id = excluded.node_id AND l.expires_at > :now THEN l.fence ELSE l.fence + 1 END,
    node_id = excluded.node_id,
    expires_at = excluded.expires_at
  WHERE (l.node_id = excluded.node_id AND l.expires_at > :now) OR l.expires_at <= :now
  RETURNING ${LEASE_COLUMNS}`
/** An offer only places a session nobody runs: a new row, or a lapsed one (fence + 1). */
const OFFER = `INSERT INTO session_leases AS l (session_id, node_id, fence, expires_at) VALUES (:sid, :node, 1, :now + :ttl)
  ON CONFLICT (session_id) DO UPDATE SET fence = l.fence + 1, node_id = excluded.node_id, expires_at = excluded.expires_at
  WHERE l.expires_at <= :now
  RETURNING ${LEASE_COLUMNS}`
const RENEW_ALL = `UPDATE session_leases SET expires_at = :now + :ttl WHERE node_id = :node RETURNING ${LEASE_COLUMNS}`
const RELEASE = `UPDATE session_leases SET expires_at = 0 WHERE session_id = :sid AND node_id = :node AND fence = :fence RETURNING session_id`
const FORGET = 'DELETE FROM session_leases WHERE session_id = :sid'
const LAPSED = `SELECT ${LEASE_COLUMNS} FROM session_leases WHERE expires_at <= :now ORDER BY expires_at LIMIT :limit`
const HOLDER = `SELECT ${LEASE_COLUMNS} FROM session_leases WHERE session_id = :sid`
const HELD = `SELECT ${LEASE_COLUMNS} FROM session_leases WHERE expires_at > :now`
const HEARTBEAT = `INSERT INTO tether_nodes (node_id, capacity, running, heartbeat_at, draining) VALUES (:node, :capacity, :running, :now, :draining)
  ON CONFLICT (node_id) DO UPDATE SET capacity = excluded.capacity, running = excluded.running, heartbeat_at = excluded.heartbeat_at, draining = excluded.draining`
const LIVE_NODES = `SELECT node_id, capacity, running, heartbeat_at, draining FROM tether_nodes
  WHERE heartbeat_at > :now - :ttl AND NOT draining ORDER BY capacity - running DESC, node_id`
const LEAVE = 'DELETE FROM tether_nodes WHERE node_id = :node'

type Params = Record<string, string | number | boolean>

/** One node, one clock: the lease protocol on the app's SQLite file. */
export function sqliteLeaseStore(sqlite: Database.Database, now: () => number = Date.now): LeaseStore {
  const prepared = new Map<string, Database.Statement>()
  const stmt = (text: string) => {
    let s = prepared.get(text)
    if (!s) {
      s = sqlite.prepare(text)
      prepared.set(text, s)
    }
    return s
  }
  // better-sqlite3 binds `:name` from an object and refuses keys a statement does not name.
  const bind = (text: string, p: Params) => {
    const out: Record<string, string | number> = text.includes(':now') ? { now: now() } : {}
    for (const [k, v] of Object.entries(p)) out[k] = typeof v === 'boolean' ? Number(v) : v
    return out
  }
  const rows = (text: string, p: Params) => (stmt(text).all(bind(text, p)) as LeaseRow[]).map(toLease)
  const one = (text: string, p: Params) => rows(text, p)[0] ?? null
  return {
    acquire: (sid, node, ttl) => one(ACQUIRE, { sid, node, ttl }),
    offer: (sid, node, ttl) => one(OFFER, { sid, node, ttl }),
    renewAll: (node, ttl) => rows(RENEW_ALL, { node, ttl }),
    release: (sid, node, fence) => stmt(RELEASE).all(bind(RELEASE, { sid, node, fence })).length > 0,
    forget: (sid) => void stmt(FORGET).run(bind(FORGET, { sid })),
    lapsed: (limit) => rows(LAPSED, { limit }),
    holder: (sid) => one(HOLDER, { sid }),
    held: () => rows(HELD, {}),
    heartbeat: (n) =>
      void stmt(HEARTBEAT).run(bind(HEARTBEAT, { node: n.nodeId, capacity: n.capacity, running: n.running, draining: n.draining })),
    liveNodes: (ttl) => (stmt(LIVE_NODES).all(bind(LIVE_NODES, { ttl })) as NodeRow[]).map(toNode),
    leave: (node) => void stmt(LEAVE).run(bind(LEAVE, { node })),
  }
}


/** Many nodes, one database clock: the lease protocol on PostgreSQL. */
export function pgLeaseStore(sql: Sql): LeaseStore {
  /** `:name` to `$n`, and `:now` to the database clock. */
  const compile = (text: string, p: Params) => {
    const values: (string | number | boolean)[] = []
    const index = new Map<string, number>()
    const query = text.replace(/:(\w+)/g, (_, name: string) => {
      if (name === 'now') return DB_NOW_MS
      if (!index.has(name)) {
        values.push(p[name]!)
        index.set(name, values.length)
      }
      return `$${index.get(name)}`
    })
    return { query, values }
  }
  const run = async <R>(text: string, p: Params): Promise<R[]> => {
    const { query, values } = compile(text, p)
    return (await sql.unsafe(query, values, { prepare: true })) as unknown as R[]
  }
  const rows = async (text: string, p: Params) => (await run<LeaseRow>(text, p)).map(toLease)
  const one = async (text: string, p: Params) => (await rows(text, p))[0] ?? null
  return {
    acquire: (sid, node, ttl) => one(ACQUIRE, { sid, node, ttl }),
    offer: (sid, node, ttl) => one(OFFER, { sid, node, ttl }),
    renewAll: (node, ttl) => rows(RENEW_ALL, { node, ttl }),
    release: async (sid, node, fence) => (await run(RELEASE, { sid, node, fence })).length > 0,
    forget: async (sid) => void (await run(FORGET, { sid })),
    lapsed: (limit) => rows(LAPSED, { limit }),
    holder: (sid) => one(HOLDER, { sid }),
    held: () => rows(HELD, {}),
    heartbeat: async (n) =>
      void (await run(HEARTBEAT, { node: n.nodeId, capacity: n.capacity, running: n.running, draining: n.draining })),
    liveNodes: async (ttl) => (await run<NodeRow>(LIVE_NODES, { ttl })).map(toNode),
    leave: async (node) => void (await run(LEAVE, { node })),
  }
}
