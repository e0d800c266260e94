/**
 * One-time admin login links. The start-up log and `npm run tether -- link` print
 * `<publicUrl>/?code=<code>`, never a token: the code is random, valid for 15 minutes and for one
 * exchange (POST /api/auth/exchange {code} → an admin token the page keeps). Codes live in
 * `<dataDir>/login-codes.json` (mode 0600) as sha-256 hashes with an expiry and a used flag, so
 * the file reveals nothing usable, a restart doesn't bring a used code back, and the CLI can add a
 * code for a server that is running (both read-modify-write the file under a lock file and
 * replace it atomically with tmp + rename).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../db/connection'
import type { MaybePromise } from '../streams/engine'
import type { Authenticator } from './auth'
import { HttpError, errorResponse, json, parseWith, readJsonBody } from './http'
import { z } from 'zod'

export const LOGIN_CODES_FILE = 'login-codes.json'
export const LOGIN_CODE_TTL_MS = 15 * 60_000
/** The admin token a redeemed link turns into: held by one browser, never printed. */
export const EXCHANGED_ADMIN_TTL_SECONDS = 7 * 86_400
export const AUTH_EXCHANGE_PATH = '/api/auth/exchange'
export const USED_REASON = 'this link was already used; run `npm run tether -- link` for a new one'
export const EXPIRED_REASON = 'this link has expired; run `npm run tether -- link` for a new one'
export const UNKNOWN_REASON = 'this link is not valid here; run `npm run tether -- link` for a new one'
/** Entries stay this long past expiry, so a late second use still gets "used" or "expired". */
export const KEEP_AFTER_EXPIRY_MS = 24 * 3_600_000
const LOCK_STALE_MS = 10_000

interface StoredCode {
  /** sha-256 of the code, hex */
  hash: string
  expiresAt: number
  used: boolean
}

export const hashCode = (code: string) => createHash('sha256').update(code).digest('hex')

function readCodes(file: string): StoredCode[] {
  if (!existsSync(file)) return []
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { codes?: unknown }
    if (!Array.isArray(parsed.codes)) return []
    return parsed.codes.filter(
      (c): c is StoredCode =>
        typeof c === 'object' &&
        c !== null &&
        typeof (c as StoredCode).hash === 'string' &&
        typeof (c as StoredCode).expiresAt === 'number' &&
        typeof (c as StoredCode).used === 'boolean',
    )
  } catch {
    // A torn or hand-edited file: no code in it is trusted (a fresh link is one command away).
    return []
  }
}

function writeCodes(file: string, codes: StoredCode[]): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify({ codes }), { mode: PRIVATE_FILE_MODE })
  chmodSync(tmp, PRIVATE_FILE_MODE)
  renameSync(tmp, file)
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/**
 * Runs `fn` holding `<file>.lock` (O_EXCL create), so the server redeeming and the CLI minting
 * never interleave their read-modify-write (which could resurrect a used code). Synchronous on
 * purpose: the critical section is a few small file operations.
 */
function withLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`
  for (let attempt = 0; ; attempt++) {
    try {
      closeSync(openSync(lock, 'wx', PRIVATE_FILE_MODE))
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const held = statSync(lock, { throwIfNoEntry: false })
      // A lock left by a killed process is older than any real critical section.
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true })
      else if (attempt > 2_000) throw new Error(`${lock} is held; remove it if no tether process is running`)
      else Atomics.wait(sleeper, 0, 0, 5)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(lock, { force: true })
  }
}

export type MintedCode = { code: string; expiresAt: number }
export type Redeemed = { ok: true } | { ok: false; reason: string }

/**
 * Where codes live: the file below (synchronous; SQLite installs and the CLI) or, for nodes
 * sharing PostgreSQL, the `login_codes` table (login-codes-pg.ts, asynchronous).
 */
export interface LoginCodeStore {
  /** A new code, stored hashed; returns the code itself (to print once). */
  mint(ttlMs?: number): MaybePromise<MintedCode>
  /** Marks the code used; `ok: false` with the reason when it is unknown, used or expired. */
  redeem(code: string): MaybePromise<Redeemed>
}

/** The file store answers at once. */
export interface FileLoginCodeStore extends LoginCodeStore {
  mint(ttlMs?: number): MintedCode
  redeem(code: string): Redeemed
}

export function loginCodeStore(dataDir: string, now: () => number = Date.now): FileLoginCodeStore {
  const file = join(dataDir, LOGIN_CODES_FILE)
  const live = (codes: StoredCode[], t: number) => codes.filter((c) => c.expiresAt + KEEP_AFTER_EXPIRY_MS > t)
  return {
    mint(ttlMs = LOGIN_CODE_TTL_MS) {
      ensurePrivateDir(dataDir)
      const code = randomBytes(32).toString('base64url')
      const t = now()
      const expiresAt = t + ttlMs
      withLock(file, () => writeCodes(file, [...live(readCodes(file), t), { hash: hashCode(code), expiresAt, used: false }]))
      return { code, expiresAt }
    },
    redeem(code) {
      const wanted = Buffer.from(hashCode(code), 'hex')
      const t = now()
      return withLock(file, () => {
        const codes = live(readCodes(file), t)
        const entry = codes.find((c) => {
          const stored = Buffer.from(c.hash, 'hex')
          return stored.length === wanted.length && timingSafeEqual(stored, wanted)
        })
        if (!entry) return { ok: false as const, reason: UNKNOWN_REASON }
        if (entry.used) return { ok: false as const, reason: USED_REASON }
        if (entry.expiresAt <= t) return { ok: false as const, reason: EXPIRED_REASON }
        entry.used = true
        writeCodes(file, codes)
        return { ok: true as const }
      })
    },
  }
}

/** The printed link: the UI's home page exchanges `code` on first open. */
export function loginLinkUrl(publicUrl: string, code: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/?code=${encodeURIComponent(code)}`
}

const ExchangeBody = z.object({ code: z.string().min(1).max(200) })

/** POST /api/auth/exchange {code} → { token } (admin), or 401 with the reason. */
export function createLoginExchange(opts: { codes: LoginCodeStore; auth: Authenticator }): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      if (req.method !== 'POST') throw new HttpError(405, 'use POST with {"code": "…"}', undefined, { allow: 'POST' })
      const { code } = parseWith(ExchangeBody, await readJsonBody(req, 4096))
      const result = await opts.codes.redeem(code)
      if (!result.ok) throw new HttpError(401, result.reason, 'code')
      const token = await opts.auth.issue({ role: 'admin', subject: 'local-admin', ttlSeconds: EXCHANGED_ADMIN_TTL_SECONDS })
      return json({ ok: true, token })
    } catch (err) {
      if (err instanceof HttpError) return errorResponse(err)
      throw err
    }
  }
}
