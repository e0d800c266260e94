/**
 * Workspace snapshots: a copy of a session's work dir at the end of a turn, kept under
 * `<data dir>/workspaces/<sessionId>/<turn>/` so a fork at that turn starts with the same files
 * (sessions/fork.ts). The data dir is never mounted into a sandbox or container, and every dir
 * here is 0700, so no agent sees another session's (or its own earlier) files.
 *
 * A snapshot is copied into a temporary dir first and renamed into place when complete, so a
 * crash mid-copy never leaves a half snapshot that a fork would seed from. Retention: the newest
 * `keep` turns per session; a copy over `maxBytes` is refused (WorkspaceTooLargeError) and
 * leaves no snapshot for that turn.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../common/logger'
import { dirBytes } from './workspace-copy'

export const DEFAULT_SNAPSHOTS_KEEP = 20
export const DEFAULT_SNAPSHOT_MAX_BYTES = 256 * 1024 * 1024

export class WorkspaceTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`workspace is ${bytes} bytes, over the snapshot limit of ${maxBytes} bytes (TETHER_WORKSPACE_SNAPSHOT_MAX_BYTES)`)
  }
}

/** Recorded with a snapshot: the session stream's tail offset when it was asked for (sessions/fork.ts). */
export interface SnapshotInfo {
  offset?: string
  bytes?: number
}

/** No worker with a work dir serves the session now (or its runtime cannot copy one). */
export class WorkspaceUnavailableError extends Error {}

/** What a runtime does to copy a worker's work dir into `dest` (an empty 0700 dir); answers the bytes copied. */
export type CopyOut = (dest: string, maxBytes: number) => Promise<number>

const SAFE_ID = /^[A-Za-z0-9_-]{1,200}$/
const TURN_DIR = /^\d+$/

function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
}

export interface WorkspaceSnapshotsOptions {
  /** `<data dir>/workspaces`. */
  root: string
  keep?: number
  maxBytes?: number
  logger?: Logger
}

export class WorkspaceSnapshots {
  readonly root: string
  readonly keep: number
  readonly maxBytes: number
  /** One snapshot at a time per session (a retried POST waits for the first copy). */
  private readonly busy = new Map<string, Promise<unknown>>()

  constructor(options: WorkspaceSnapshotsOptions) {
    this.root = options.root
    this.keep = Math.max(1, options.keep ?? DEFAULT_SNAPSHOTS_KEEP)
    this.maxBytes = options.maxBytes ?? DEFAULT_SNAPSHOT_MAX_BYTES
    this.logger = options.logger
  }

  private readonly logger: Logger | undefined

  private sessionDir(sessionId: string): string {
    if (!SAFE_ID.test(sessionId)) throw new Error(`not a session id: ${JSON.stringify(sessionId)}`)
    return join(this.root, sessionId)
  }

  /** The snapshot dir of a turn (whether or not it exists). */
  dirOf(sessionId: string, turn: number): string {
    return join(this.sessionDir(sessionId), String(turn))
  }

  has(sessionId: string, turn: number): boolean {
    return existsSync(this.dirOf(sessionId, turn))
  }

  /** What was recorded with a snapshot (beside its dir, never inside it), or null when there is none. */
  info(sessionId: string, turn: number): SnapshotInfo | null {
    if (!this.has(sessionId, turn)) return null
    try {
      return JSON.parse(readFileSync(`${this.dirOf(sessionId, turn)}.json`, 'utf8')) as SnapshotInfo
    } catch {
      return {}
    }
  }

  /** Turns with a snapshot, oldest first. */
  turns(sessionId: string): number[] {
    const dir = this.sessionDir(sessionId)
    if (!existsSync(dir)) return []
    return readdirSync(dir)
      .filter((name) => TURN_DIR.test(name))
      .map(Number)
      .sort((a, b) => a - b)
  }

  latest(sessionId: string): number | null {
    return this.turns(sessionId).at(-1) ?? null
  }

  /** Takes the snapshot of `turn` with `copyOut`; replaces an earlier snapshot of the same turn. */
  take(sessionId: string, turn: number, copyOut: CopyOut, info: SnapshotInfo = {}): Promise<{ turn: number; bytes: number }> {
    const prev = this.busy.get(sessionId) ?? Promise.resolve()
    const run = prev.catch(() => undefined).then(() => this.takeNow(sessionId, turn, copyOut, info))
    this.busy.set(sessionId, run)
    void run
      .catch(() => undefined)
      .finally(() => {
        if (this.busy.get(sessionId) === run) this.busy.delete(sessionId)
      })
    return run
  }

  private async takeNow(sessionId: string, turn: number, copyOut: CopyOut, info: SnapshotInfo): Promise<{ turn: number; bytes: number }> {
    privateDir(this.root)
    const sessionDir = this.sessionDir(sessionId)
    privateDir(sessionDir)
    const tmp = join(sessionDir, `.tmp-${turn}-${randomBytes(4).toString('hex')}`)
    privateDir(tmp)
    try {
      await copyOut(tmp, this.maxBytes)
      // Measured on the copy: what a fork would seed is what counts against the limit.
      const bytes = await dirBytes(tmp)
      if (bytes > this.maxBytes) throw new WorkspaceTooLargeError(bytes, this.maxBytes)
      chmodSync(tmp, 0o700)
      const dest = this.dirOf(sessionId, turn)
      rmSync(dest, { recursive: true, force: true })
      writeFileSync(`${dest}.json`, JSON.stringify({ ...info, bytes }), { mode: 0o600 })
      renameSync(tmp, dest)
      this.prune(sessionId)
      return { turn, bytes }
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true })
      if (err instanceof WorkspaceTooLargeError) {
        this.logger?.warn({ sessionId, turn, bytes: err.bytes, maxBytes: err.maxBytes }, 'workspace snapshot refused: over the size limit')
      }
      throw err
    }
  }

  /** Keeps the newest `keep` turns. */
  private prune(sessionId: string): void {
    const turns = this.turns(sessionId)
    for (const turn of turns.slice(0, Math.max(0, turns.length - this.keep))) {
      rmSync(this.dirOf(sessionId, turn), { recursive: true, force: true })
      rmSync(`${this.dirOf(sessionId, turn)}.json`, { force: true })
    }
  }

  /**
   * Where a new worker of `session` gets its files: its own newest snapshot (a hybrid session
   * that slept, a server restart), else, for a fork, the source's snapshot of the fork's turn;
   * undefined: start empty.
   */
  seedFor(session: { id: string; forkedFrom?: { sessionId: string; turn: number } | null }): string | undefined {
    const own = this.latest(session.id)
    if (own !== null) return this.dirOf(session.id, own)
    const from = session.forkedFrom
    return from && this.has(from.sessionId, from.turn) ? this.dirOf(from.sessionId, from.turn) : undefined
  }

  /** Deletes every snapshot of a session (the session was deleted). */
  remove(sessionId: string): void {
    rmSync(this.sessionDir(sessionId), { recursive: true, force: true })
  }
}
