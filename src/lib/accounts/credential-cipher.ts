/**
 * Agent credentials at rest (issue #11): AES-256-GCM with a key that lives in the data dir
 * (`<dataDir>/credentials.key`, 32 random bytes, mode 0600, made on first use like the token
 * secret), never in the database: a copy of tether.db alone holds only ciphertext. GCM's tag
 * makes a tampered or swapped value fail to decrypt instead of yielding garbage; the row id is the
 * additional data, so ciphertext moved to another profile's row does not decrypt either.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../db/connection'

export const CREDENTIALS_KEY_FILE = 'credentials.key'

export interface Sealed {
  ciphertext: string
  iv: string
  tag: string
}

export interface CredentialCipher {
  seal(plain: string, boundTo: string): Sealed
  open(sealed: Sealed, boundTo: string): string
}

function loadOrCreateKey(dataDir: string): Buffer {
  const file = join(dataDir, CREDENTIALS_KEY_FILE)
  if (!existsSync(file)) {
    ensurePrivateDir(dataDir)
    try {
      // 'wx': two processes starting at once never overwrite each other's key (that would orphan every credential).
      writeFileSync(file, randomBytes(32).toString('base64'), { flag: 'wx', mode: PRIVATE_FILE_MODE })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  chmodSync(file, PRIVATE_FILE_MODE)
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
  if (key.length !== 32) throw new Error(`${file} must hold 32 bytes (base64); it holds ${key.length}`)
  return key
}

/** A key given as text (TETHER_CREDENTIALS_KEY): 32 bytes in base64 (`openssl rand -base64 32`). */
export function parseCredentialsKey(text: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64')
  if (key.length !== 32) throw new Error(`TETHER_CREDENTIALS_KEY must be 32 bytes in base64 (openssl rand -base64 32); it decodes to ${key.length}`)
  return key
}

/**
 * The cipher for a data dir; the key file is read (or made) on first use, so installs without
 * agents never make one. `keyText` (TETHER_CREDENTIALS_KEY) replaces the file: nodes sharing one
 * PostgreSQL database must all open the same ciphertext, and their data dirs are their own.
 */
export function credentialCipher(dataDir: string, keyText?: string): CredentialCipher {
  let key: Buffer | null = keyText ? parseCredentialsKey(keyText) : null
  const k = () => {
    key ??= loadOrCreateKey(dataDir)
    return key
  }
  return {
    seal(plain, boundTo) {
      const iv = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', k(), iv)
      c.setAAD(Buffer.from(boundTo, 'utf8'))
      const ciphertext = Buffer.concat([c.update(plain, 'utf8'), c.final()])
      return { ciphertext: ciphertext.toString('base64'), iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64') }
    },
    open(sealed, boundTo) {
      const d = createDecipheriv('aes-256-gcm', k(), Buffer.from(sealed.iv, 'base64'))
      d.setAAD(Buffer.from(boundTo, 'utf8'))
      d.setAuthTag(Buffer.from(sealed.tag, 'base64'))
      return Buffer.concat([d.update(Buffer.from(sealed.ciphertext, 'base64')), d.final()]).toString('utf8')
    },
  }
}
