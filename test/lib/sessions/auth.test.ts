import { describe, expect, it } from 'vitest'
import { createAuthenticator, VERIFIED_CACHE_SIZE } from '../../../src/lib/sessions/auth'
import { secretFromString } from '../../../src/lib/sessions/tokens'

const secret = secretFromString('auth-test-secret-with-enough-bytes-0123456789')
const request = (token: string) =>
  new Request('http://tether.test/api/streams?sessionId=s', { headers: { authorization: `Bearer ${token}` } })

describe('authenticator', () => {
  it('checks each token of a thousand live sessions once, however often they write', async () => {
    let now = Date.UTC(2026, 10, 30)
    const auth = createAuthenticator({ secret, enabled: true, now: () => now })
    // A worker and two viewers per session, as the node-capacity load has them.
    const tokens: string[] = []
    for (let s = 0; s < 1000; s++) {
      tokens.push(await auth.issue({ role: 'worker', sessionId: `s${s}`, subject: 'agent', ttlSeconds: 3600 }))
      tokens.push(await auth.issue({ role: 'viewer', sessionId: `s${s}`, subject: 'viewer-a', ttlSeconds: 3600 }))
      tokens.push(await auth.issue({ role: 'viewer', sessionId: `s${s}`, subject: 'viewer-b', ttlSeconds: 3600 }))
    }
    expect(tokens.length).toBeLessThan(VERIFIED_CACHE_SIZE)
    for (let round = 0; round < 3; round++) {
      for (const token of tokens) {
        const claims = await auth.authenticate(request(token))
        expect(claims.sid.startsWith('s')).toBe(true)
      }
    }
    expect(auth.verifications).toBe(tokens.length)
    // The cache remembers a signature, not a verdict for ever: an expired token is refused.
    now += 3601_000
    await expect(auth.authenticate(request(tokens[0]))).rejects.toMatchObject({ status: 401 })
  })

  it('refuses a token signed with another secret, every time', async () => {
    const other = createAuthenticator({
      secret: secretFromString('another-secret-with-enough-bytes-987654321'),
      enabled: true,
      now: Date.now,
    })
    const auth = createAuthenticator({ secret, enabled: true, now: Date.now })
    const forged = await other.issue({ role: 'admin', sessionId: '*' })
    for (let i = 0; i < 2; i++) await expect(auth.authenticate(request(forged))).rejects.toMatchObject({ status: 401 })
    expect(auth.verifications).toBe(2)
  })
})
