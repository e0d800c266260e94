/**
 * `npm run tether -- <command>`: operator commands that need the server secret.
 *
 *   token --role <viewer|collaborator|worker|admin> [--session <id>] [--subject <user or agent id>]
 *         [--name <display name>] [--ttl <seconds>]
 *       Prints a signed token. The secret is TETHER_SECRET or <TETHER_DATA_DIR>/secret (created
 *       on first use, the same file the server uses).
 *
 *   backup <file>
 *       Copies the install's database (TETHER_DATA_DIR/tether.db) to <file> while the server keeps
 *       serving: a consistent copy as of one instant (src/lib/db/backup.ts), mode 0600.
 *
 *   restore <file>
 *       Replaces TETHER_DATA_DIR/tether.db with the backup <file> after checking it; refused while
 *       the server answers on HOST:PORT. The token secret (<dataDir>/secret) is not in the backup.
 *
 *   link
 *       Prints a one-time admin login link (15 minutes, one use) for the install in
 *       TETHER_DATA_DIR: the code goes into <dataDir>/login-codes.json, which the running server
 *       reads on exchange, so no restart is needed and no token is printed. With
 *       TETHER_DATABASE_URL the code goes into the database, and any node redeems it.
 *
 * With TETHER_DATABASE_URL (several nodes): `token` needs TETHER_SECRET (the nodes' shared one),
 * and backup/restore are the database's own tools' job (pg_dump, pg_restore): they refuse.
 */
import { parseArgs } from 'node:util'
import { BackupError, backupDatabase, databaseFileOf, restoreDatabase } from '../lib/db/backup'
import { openPostgres } from '../lib/db/postgres'
import { pgLoginCodeStore } from '../lib/sessions/login-codes-pg'
import { loginCodeStore, loginLinkUrl, LOGIN_CODE_TTL_MS, type MintedCode } from '../lib/sessions/login-links'
import { loadOrCreateSecret } from '../lib/sessions/secret'
import { ROLES, issueToken, type Role } from '../lib/sessions/tokens'
import { loadSettings } from '../lib/settings'

const USAGE = `usage: npm run tether -- token --role <${ROLES.join('|')}> [--session <id>] [--subject <id>] [--name <name>] [--ttl <seconds>]
       npm run tether -- link
       npm run tether -- backup <file>
       npm run tether -- restore <file>`

/** A one-time admin link for the running install (same data dir, same public URL as the server). */
async function printLoginLink(rest: string[]): Promise<number> {
  if (rest.length > 0) {
    console.error(`link takes no arguments\n${USAGE}`)
    return 2
  }
  const settings = loadSettings(process.env)
  const { code } = await mintLoginCode(settings.streams.dataDir, settings.streams.databaseUrl)
  console.log(loginLinkUrl(settings.server.publicUrl, code))
  console.error(`single use, expires in ${Math.round(LOGIN_CODE_TTL_MS / 60_000)} minutes`)
  return 0
}

async function mintLoginCode(dataDir: string, databaseUrl: string | null): Promise<MintedCode> {
  if (!databaseUrl) return loginCodeStore(dataDir).mint()
  const pg = await openPostgres(databaseUrl, { max: 1 })
  try {
    return await pgLoginCodeStore(pg.sql).mint()
  } finally {
    await pg.close()
  }
}

/** Whether a Tether server answers on the configured address (restore must not run under one). */
async function serverAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/api/health', url), { signal: AbortSignal.timeout(2_000) })
    return res.ok
  } catch {
    return false
  }
}

async function backupOrRestore(command: 'backup' | 'restore', rest: string[]): Promise<number> {
  if (rest.length !== 1 || rest[0].startsWith('-')) {
    console.error(`${command} takes one file name\n${USAGE}`)
    return 2
  }
  const settings = loadSettings(process.env)
  const dataDir = settings.streams.dataDir
  if (settings.streams.databaseUrl) {
    console.error(`${command} copies the SQLite file; with TETHER_DATABASE_URL use PostgreSQL's own tools (pg_dump / pg_restore, or your provider's snapshots)`)
    return 2
  }
  try {
    if (command === 'backup') {
      const r = await backupDatabase(databaseFileOf(dataDir), rest[0])
      console.log(`backed up ${r.streams} streams (${r.bytes} bytes) to ${r.file} in ${r.ms} ms`)
    } else {
      const local = `http://${settings.server.host}:${settings.server.port}`
      const r = await restoreDatabase(rest[0], dataDir, () => serverAnswers(local))
      console.log(`restored ${r.streams} streams into ${r.file}; start the server to serve them`)
    }
    return 0
  } catch (err) {
    if (!(err instanceof BackupError)) throw err
    console.error(`${command} failed: ${err.message}`)
    return 1
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'link') return printLoginLink(rest)
  if (command === 'backup' || command === 'restore') return backupOrRestore(command, rest)
  if (command !== 'token') {
    console.error(USAGE)
    return command === undefined || command === '--help' || command === 'help' ? 0 : 2
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      role: { type: 'string' },
      session: { type: 'string' },
      subject: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string' },
    },
    strict: true,
  })
  const role = values.role as Role | undefined
  if (!role || !ROLES.includes(role)) {
    console.error(`--role must be one of ${ROLES.join(', ')}\n${USAGE}`)
    return 2
  }
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl)
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0)) {
    console.error('--ttl must be a positive whole number of seconds')
    return 2
  }
  const settings = loadSettings(process.env)
  if (settings.streams.databaseUrl && !settings.sessions.secret) {
    console.error('with TETHER_DATABASE_URL, set TETHER_SECRET (the secret every node shares) to sign a token')
    return 2
  }
  const secret = loadOrCreateSecret(settings.streams.dataDir, settings.sessions.secret)
  const subject = values.subject ?? (role === 'collaborator' ? `u_cli_${Date.now().toString(36)}` : undefined)
  try {
    const token = await issueToken(secret, {
      role,
      sessionId: values.session,
      subject,
      name: values.name,
      ttlSeconds: ttl,
    })
    console.log(token)
    return 0
  } catch (err) {
    console.error((err as Error).message)
    return 2
  }
}

process.exitCode = await main(process.argv.slice(2))
