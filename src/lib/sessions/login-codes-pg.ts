/**
 * One-time admin login codes (login-links.ts) in PostgreSQL's `login_codes` table (issue #14),
 * so a code minted on one node (or by the CLI against the same database) is redeemed on any
 * node, once: the claim is one `UPDATE … WHERE used = 0 AND expires_at > now RETURNING`, which
 * the row lock makes a single winner however many nodes try at once. Only the code's sha-256 is
 * stored. The lookup is by hash on the primary key: its timing can at most tell a prefix of a
 * hash, and a 256-bit random code cannot be found from its hash.
 */
import { randomBytes } from 'node:crypto'
import type { Sql } from 'postgres'
import {
  EXPIRED_REASON,
  hashCode,
  KEEP_AFTER_EXPIRY_MS,
  LOGIN_CODE_TTL_MS,
  type LoginCodeStore,
  type MintedCode,
  type Redeemed,
  UNKNOWN_REASON,
  USED_REASON,
} from './login-links'

export function pgLoginCodeStore(sql: Sql, now: () => number = Date.now): LoginCodeStore {
  return {
    async mint(ttlMs = LOGIN_CODE_TTL_MS): Promise<MintedCode> {
      const code = randomBytes(32).toString('base64url')
      const t = now()
      const expiresAt = t + ttlMs
      // Codes a day past expiry are forgotten at each mint, as the file store does: one statement.
      await sql`
        WITH forgotten AS (DELETE FROM login_codes WHERE expires_at + ${KEEP_AFTER_EXPIRY_MS} <= ${t})
        INSERT INTO login_codes (hash, expires_at, used) VALUES (${hashCode(code)}, ${expiresAt}, 0)`
      return { code, expiresAt }
    },
    async redeem(code: string): Promise<Redeemed> {
      const hash = hashCode(code)
      const t = now()
      const claimed = await sql`UPDATE login_codes SET used = 1 WHERE hash = ${hash} AND used = 0 AND expires_at > ${t} RETURNING hash`
      if (claimed.length === 1) return { ok: true }
      // Not claimed: say why, as the file store would (a forgotten code is unknown).
      const [row] = await sql<{ used: number; expires_at: number }[]>`
        SELECT used, expires_at FROM login_codes WHERE hash = ${hash} AND expires_at + ${KEEP_AFTER_EXPIRY_MS} > ${t}`
      if (!row) return { ok: false, reason: UNKNOWN_REASON }
      return { ok: false, reason: row.used ? USED_REASON : EXPIRED_REASON }
    },
  }
}
