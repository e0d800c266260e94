import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../db/connection'
import { secretFromString, type TokenSecret } from './tokens'

/**
 * The server secret: `secret` (TETHER_SECRET, from the settings) if set, else `<dataDir>/secret`, created (32 random bytes,
 * mode 0600) on first start. The mode is re-applied on every load so an install from before
 * (or one made under a loose umask) is fixed; the data dir is made owner-only too.
 */
export function loadOrCreateSecret(dataDir: string, secret: string | undefined): TokenSecret {
  if (secret) {
    if (secret.length < 16) throw new Error('TETHER_SECRET must be at least 16 characters')
    return secretFromString(secret)
  }
  const file = join(dataDir, 'secret')
  if (!existsSync(file)) {
    ensurePrivateDir(dataDir)
    try {
      // 'wx' so two processes starting at once never overwrite each other's secret.
      writeFileSync(file, randomBytes(32).toString('base64url'), { flag: 'wx', mode: PRIVATE_FILE_MODE })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  chmodSync(file, PRIVATE_FILE_MODE)
  return secretFromString(readFileSync(file, 'utf8').trim())
}
