/**
 * Webhook signatures (PROTOCOL.md 6.5, 7.1, 12.10) and callback/claim tokens (12.9).
 *
 * Webhooks: Ed25519 over `<unix-seconds>.<raw body>`, header
 * `Webhook-Signature: t=<ts>,kid=<kid>,ed25519=<base64url sig>`; public keys as a JWKS whose
 * `kid` is `ds_` + the RFC 7638 thumbprint. Tokens: HS256 JWTs (jose) naming the subscription,
 * its incarnation, the generation and the wake id.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'

export interface StoredKey {
  kid: string
  kind: 'webhook-ed25519' | 'token-hs256'
  material: string
  publicJwk: string | null
  createdAt: number
}

export interface PublicJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
  kid: string
  use: 'sig'
  alg: 'EdDSA'
}

/** RFC 7638 thumbprint of an Ed25519 public key, as a `ds_`-prefixed key id. */
export function kidForEd25519(x: string): string {
  const canonical = JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x })
  return `ds_${createHash('sha256').update(canonical).digest('base64url')}`
}

export function generateWebhookKey(nowMs: number): StoredKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const { x } = publicKey.export({ format: 'jwk' })
  if (typeof x !== 'string') throw new Error('ed25519 public key export lacks x')
  const kid = kidForEd25519(x)
  const jwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x, kid, use: 'sig', alg: 'EdDSA' }
  return {
    kid,
    kind: 'webhook-ed25519',
    material: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicJwk: JSON.stringify(jwk),
    createdAt: nowMs,
  }
}

export function generateTokenSecret(nowMs: number): StoredKey {
  return {
    kid: `tok_${randomBytes(8).toString('hex')}`,
    kind: 'token-hs256',
    material: randomBytes(32).toString('base64url'),
    publicJwk: null,
    createdAt: nowMs,
  }
}

/** Signs with the newest webhook key; publishes every stored webhook key. */
export class WebhookSigner {
  private readonly active: { kid: string; key: ReturnType<typeof createPrivateKey> }
  private readonly published: PublicJwk[]

  constructor(keys: StoredKey[]) {
    const webhookKeys = keys.filter((k) => k.kind === 'webhook-ed25519').sort((a, b) => b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : 1))
    const newest = webhookKeys[0]
    if (!newest) throw new Error('no webhook signing key')
    this.active = { kid: newest.kid, key: createPrivateKey(newest.material) }
    this.published = webhookKeys.map((k) => publicJwkOf(k))
  }

  get kid(): string {
    return this.active.kid
  }

  jwks(): { keys: PublicJwk[] } {
    return { keys: this.published }
  }

  /** The `Webhook-Signature` header value for `body` sent at `nowMs`. */
  signatureHeader(body: string, nowMs: number): string {
    const t = Math.floor(nowMs / 1000)
    const sig = sign(null, Buffer.from(`${t}.${body}`), this.active.key).toString('base64url')
    return `t=${t},kid=${this.active.kid},ed25519=${sig}`
  }
}

function publicJwkOf(k: StoredKey): PublicJwk {
  if (k.publicJwk) return JSON.parse(k.publicJwk) as PublicJwk
  // Older rows without the cached JWK: derive it from the private key.
  const { x } = createPublicKey(createPrivateKey(k.material)).export({ format: 'jwk' })
  return { kty: 'OKP', crv: 'Ed25519', x: String(x), kid: k.kid, use: 'sig', alg: 'EdDSA' }
}

export interface WakeClaims {
  subscriptionId: string
  incarnation: string
  generation: number
  wakeId: string
}

export type TokenCheck = { ok: true; claims: WakeClaims } | { ok: false; code: 'TOKEN_INVALID' | 'TOKEN_EXPIRED' }

/** HS256 tokens scoped to one subscription incarnation, generation and wake. */
export class WakeTokens {
  private readonly secret: Uint8Array

  constructor(
    stored: StoredKey,
    private readonly ttlMs: number,
  ) {
    if (stored.kind !== 'token-hs256') throw new Error('not a token secret')
    this.secret = Buffer.from(stored.material, 'base64url')
  }

  async issue(c: WakeClaims, nowMs: number): Promise<string> {
    const iat = Math.floor(nowMs / 1000)
    return new SignJWT({ inc: c.incarnation, gen: c.generation, wid: c.wakeId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(c.subscriptionId)
      .setAudience('ds-subscription-wake')
      .setIssuedAt(iat)
      .setExpirationTime(iat + Math.ceil(this.ttlMs / 1000))
      .sign(this.secret)
  }

  async verify(token: string, nowMs: number): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        audience: 'ds-subscription-wake',
        currentDate: new Date(nowMs),
      })
      const { sub, inc, gen, wid } = payload
      if (typeof sub !== 'string' || typeof inc !== 'string' || typeof gen !== 'number' || typeof wid !== 'string') {
        return { ok: false, code: 'TOKEN_INVALID' }
      }
      return { ok: true, claims: { subscriptionId: sub, incarnation: inc, generation: gen, wakeId: wid } }
    } catch (err) {
      return { ok: false, code: err instanceof joseErrors.JWTExpired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID' }
    }
  }
}
