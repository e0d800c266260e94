import { createPublicKey, verify } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { retryDelayMs } from '../../../../src/lib/streams/subscriptions/retry'
import { generateTokenSecret, generateWebhookKey, WakeTokens, WebhookSigner } from '../../../../src/lib/streams/subscriptions/signing'

function verifyHeader(header: string, body: string, jwks: { keys: { kid: string }[] }): boolean {
  const m = /^t=(\d+),kid=([^,]+),ed25519=([A-Za-z0-9_-]+)$/.exec(header)
  if (!m) return false
  const jwk = jwks.keys.find((k) => k.kid === m[2])
  if (!jwk) return false
  const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
  return verify(null, Buffer.from(`${m[1]}.${body}`), key, Buffer.from(m[3], 'base64url'))
}

describe('webhook signatures', () => {
  test('sign t.body with Ed25519; the JWKS key with the header kid verifies it', () => {
    const signer = new WebhookSigner([generateWebhookKey(1_000)])
    const body = JSON.stringify({ subscription_id: 's', generation: 1 })
    const header = signer.signatureHeader(body, 1_700_000_000_123)
    expect(header).toMatch(/^t=1700000000,kid=ds_[A-Za-z0-9_-]+,ed25519=[A-Za-z0-9_-]+$/)
    const jwks = signer.jwks()
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: signer.kid })
    expect(verifyHeader(header, body, jwks)).toBe(true)
    expect(verifyHeader(header, body + ' ', jwks)).toBe(false)
  })

  test('signs with the newest key and keeps publishing older ones', () => {
    const old = generateWebhookKey(1_000)
    const fresh = generateWebhookKey(2_000)
    const signer = new WebhookSigner([old, fresh])
    expect(signer.kid).toBe(fresh.kid)
    expect(
      signer
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
    ).toEqual([old.kid, fresh.kid].sort())
    expect(JSON.stringify(signer.jwks())).not.toContain('"d"')
  })
})

describe('wake tokens', () => {
  const claims = { subscriptionId: 'sub-1', incarnation: 'inc', generation: 3, wakeId: 'w_1' }

  test('round-trip the subscription, incarnation, generation and wake id', async () => {
    const tokens = new WakeTokens(generateTokenSecret(0), 60_000)
    const token = await tokens.issue(claims, Date.now())
    expect(await tokens.verify(token, Date.now())).toEqual({ ok: true, claims })
  })

  test('reject expired, tampered and foreign tokens', async () => {
    const tokens = new WakeTokens(generateTokenSecret(0), 60_000)
    const token = await tokens.issue(claims, Date.now())
    expect(await tokens.verify(token, Date.now() + 120_000)).toEqual({ ok: false, code: 'TOKEN_EXPIRED' })
    const [h, p, s] = token.split('.')
    expect((await tokens.verify(`${h}.${p}.${s.slice(0, -2)}AA`, Date.now())).ok).toBe(false)
    const other = new WakeTokens(generateTokenSecret(0), 60_000)
    expect(await other.verify(token, Date.now())).toEqual({ ok: false, code: 'TOKEN_INVALID' })
  })
})

describe('retryDelayMs', () => {
  test('doubles from 1 s, caps at 60 s, jitters by at most 20 %', () => {
    expect(retryDelayMs(1, () => 0.5)).toBe(1_000)
    expect(retryDelayMs(2, () => 0.5)).toBe(2_000)
    expect(retryDelayMs(4, () => 0.5)).toBe(8_000)
    expect(retryDelayMs(10, () => 0.5)).toBe(60_000)
    expect(retryDelayMs(1, () => 0)).toBe(800)
    expect(retryDelayMs(1, () => 0.999999)).toBe(1_200)
    expect(retryDelayMs(50, () => 0.999999)).toBe(60_000)
  })
})
