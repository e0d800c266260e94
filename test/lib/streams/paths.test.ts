import { describe, expect, it } from 'vitest'
import { mountOf, normaliseBasePath, resolveSourcePath, routeRequestPath } from '../../../src/lib/streams/paths'

describe('stream paths', () => {
  it('maps request paths under the mount prefix to stream-relative paths', () => {
    expect(routeRequestPath('/v1/stream/events/abc', '/v1/stream')).toEqual({ kind: 'stream', path: 'events/abc' })
    expect(routeRequestPath('/v1/stream/a%20b', '/v1/stream')).toEqual({ kind: 'stream', path: 'a b' })
    expect(routeRequestPath('/elsewhere/x', '/v1/stream')).toEqual({ kind: 'outside' })
  })

  it('routes the reserved __ds prefix to the control router', () => {
    expect(routeRequestPath('/api/streams/__ds/subscriptions/s1', '/api/streams')).toEqual({
      kind: 'reserved',
      subPath: 'subscriptions/s1',
    })
  })

  it('rejects traversal, encoded traversal, control characters and empty segments', () => {
    for (const raw of ['a/../b', 'a/%2e%2e/b', '%2E%2E', 'a/./b', 'a%00b', 'a%0d%0ab', 'a//b', 'a%2fb', 'a\\b', '%zz']) {
      expect(routeRequestPath(`/v1/stream/${raw}`, '/v1/stream').kind).toBe('invalid')
    }
  })

  it('normalises mount prefixes', () => {
    expect(normaliseBasePath('v1/stream/')).toBe('/v1/stream')
    expect(normaliseBasePath('/')).toBe('')
  })

  it('resolves Stream-Forked-From with or without the mount prefix', () => {
    expect(resolveSourcePath('/v1/stream/src-1', '/v1/stream')).toEqual({ ok: true, path: 'src-1' })
    expect(resolveSourcePath('/v1/stream/src-1', ['/api/streams', '/v1/stream'])).toEqual({ ok: true, path: 'src-1' })
    expect(resolveSourcePath('http://h/api/streams/a/b', ['/api/streams', '/v1/stream'])).toEqual({ ok: true, path: 'a/b' })
    expect(resolveSourcePath('sessions/s1', '/v1/stream')).toEqual({ ok: true, path: 'sessions/s1' })
    expect(resolveSourcePath('/v1/stream/../x', '/v1/stream').ok).toBe(false)
  })

  it('routes nested mounts under the longest prefix, in any order', () => {
    const mounts = ['/api/streams', '/v1/stream', '/api/streams/v1/stream']
    expect(mountOf('/api/streams/v1/stream/a', mounts)).toBe('/api/streams/v1/stream')
    expect(mountOf('/api/streams/v1/a', mounts)).toBe('/api/streams')
    expect(mountOf('/api/streams', mounts)).toBeUndefined()
    expect(mountOf('/v1/streams/a', mounts)).toBeUndefined()
    expect(resolveSourcePath('/api/streams/v1/stream/a', mounts)).toEqual({ ok: true, path: 'a' })
    expect(resolveSourcePath('/api/streams/v1/stream/a', [...mounts].reverse())).toEqual({ ok: true, path: 'a' })
  })
})
