import { describe, expect, it } from 'vitest'
import {
  mediaTypeEssence,
  parseClosedHeader,
  parseProducerInt,
  parseRfc3339,
  parseStrictInt,
  trimOws,
} from '../../../src/lib/streams/protocol'
import { judgeProducer } from '../../../src/lib/streams/producers'
import { parseAppendHeaders, parseClosed, parseCreateHeaders, parseProducerHeaders } from '../../../src/lib/streams/request-headers'

describe('header parsing', () => {
  it('accepts only canonical non-negative integers for Stream-TTL', () => {
    expect(parseStrictInt('3600')).toBe(3600)
    expect(parseStrictInt('0')).toBe(0)
    for (const bad of ['03600', '+3600', '3600.0', '3.6e3', '-1', '', ' 1']) expect(parseStrictInt(bad)).toBeNull()
  })

  it('bounds producer integers to 2^53-1', () => {
    expect(parseProducerInt('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER)
    expect(parseProducerInt('9007199254740992')).toBeNull()
    expect(parseProducerInt('1e3')).toBeNull()
  })

  it('parses RFC 3339 timestamps and refuses others', () => {
    expect(parseRfc3339('2030-01-01T00:00:00Z')).toBe(Date.UTC(2030, 0, 1))
    expect(parseRfc3339('2030-01-01T01:00:00+01:00')).toBe(Date.UTC(2030, 0, 1))
    expect(parseRfc3339('not-a-timestamp')).toBeNull()
    expect(parseRfc3339('2030-01-01')).toBeNull()
  })

  it('compares media types without case or parameters', () => {
    expect(mediaTypeEssence('Application/JSON; charset=utf-8')).toBe('application/json')
    expect(mediaTypeEssence('garbage')).toBeNull()
  })

  it('reads Stream-Closed as true or false and nothing else (ambiguous values are null, not false)', () => {
    expect(parseClosedHeader('TRUE')).toBe(true)
    expect(parseClosedHeader(' true\t')).toBe(true)
    expect(parseClosedHeader(null)).toBe(false)
    expect(parseClosedHeader('false')).toBe(false)
    // U+00A0 (a 0xA0 byte on the wire), other Unicode spaces, and near misses are not "true" and not "false".
    for (const v of ['true\u00a0', '\u00a0true', 'true\u2003', 'true\u200b', 'yes', '1', '', 'true, true', 'tru'])
      expect(parseClosedHeader(v)).toBeNull()
  })

  it('trims only SP and HTAB around header values', () => {
    expect(trimOws(' \t3600 \t')).toBe('3600')
    expect(trimOws('3600\u00a0')).toBe('3600\u00a0')
    expect(parseStrictInt(trimOws('3600\u00a0'))).toBeNull()
  })
})

describe('idempotent producer validation', () => {
  it('accepts a new producer at seq 0 and reports a gap otherwise', () => {
    expect(judgeProducer(undefined, 0, 0)).toEqual({ kind: 'accept' })
    expect(judgeProducer(undefined, 0, 3)).toEqual({ kind: 'gap', expected: 0 })
  })

  it('fences stale epochs and requires seq 0 for a new epoch', () => {
    expect(judgeProducer({ epoch: 2, lastSeq: 5 }, 1, 6)).toEqual({ kind: 'stale', currentEpoch: 2 })
    expect(judgeProducer({ epoch: 2, lastSeq: 5 }, 3, 1)).toEqual({ kind: 'epoch_needs_seq0' })
    expect(judgeProducer({ epoch: 2, lastSeq: 5 }, 3, 0)).toEqual({ kind: 'accept' })
  })

  it('deduplicates retries and detects gaps within an epoch', () => {
    expect(judgeProducer({ epoch: 0, lastSeq: 5 }, 0, 5)).toEqual({ kind: 'duplicate', lastSeq: 5 })
    expect(judgeProducer({ epoch: 0, lastSeq: 5 }, 0, 6)).toEqual({ kind: 'accept' })
    expect(judgeProducer({ epoch: 0, lastSeq: 5 }, 0, 8)).toEqual({ kind: 'gap', expected: 6 })
  })
})

describe('request header validation', () => {
  const code = (fn: () => unknown) => {
    try {
      fn()
    } catch (err) {
      return (err as { status: number; code: string }).code
    }
    return 'ok'
  }

  it('parses a fork request relative to the mount prefix', () => {
    const h = new Headers({
      'stream-forked-from': '/v1/stream/src',
      'stream-fork-offset': '0000000000000002_0000000000000010',
      'stream-ttl': '60',
    })
    expect(parseCreateHeaders(h, ['/v1/stream'])).toEqual({
      ttlSeconds: 60,
      expiresAtMs: null,
      fork: { sourcePath: 'src', offsetToken: '0000000000000002_0000000000000010', offset: { seq: 2, pos: 10 }, subOffset: 0 },
    })
  })

  it('refuses conflicting or malformed create headers', () => {
    expect(code(() => parseCreateHeaders(new Headers({ 'stream-ttl': '1', 'stream-expires-at': '2030-01-01T00:00:00Z' }), []))).toBe(
      'CONFLICTING_EXPIRY',
    )
    expect(code(() => parseCreateHeaders(new Headers({ 'stream-fork-sub-offset': '0' }), []))).toBe('FORK_HEADER_WITHOUT_SOURCE')
    expect(code(() => parseCreateHeaders(new Headers({ 'stream-forked-from': 'a', 'stream-fork-offset': '12' }), []))).toBe(
      'INVALID_FORK_OFFSET',
    )
  })

  it('answers an ambiguous Stream-Closed with 400 on append and create', () => {
    expect(code(() => parseClosed(new Headers({ 'stream-closed': 'true\u00a0' })))).toBe('INVALID_STREAM_CLOSED')
    expect(code(() => parseAppendHeaders(new Headers({ 'stream-closed': 'yes' })))).toBe('INVALID_STREAM_CLOSED')
    expect(parseAppendHeaders(new Headers({ 'stream-closed': 'True', 'content-type': 'application/json', 'stream-seq': 'a' }))).toEqual({
      close: true,
      producer: null,
      contentType: 'application/json',
      streamSeq: 'a',
    })
    expect(parseAppendHeaders(new Headers()).close).toBe(false)
    expect(code(() => parseCreateHeaders(new Headers({ 'stream-ttl': '60\u00a0' }), []))).toBe('INVALID_TTL')
  })

  it('requires all three producer headers or none', () => {
    expect(parseProducerHeaders(new Headers())).toBeNull()
    expect(parseProducerHeaders(new Headers({ 'producer-id': 'p', 'producer-epoch': '1', 'producer-seq': '2' }))).toEqual({
      id: 'p',
      epoch: 1,
      seq: 2,
    })
    expect(code(() => parseProducerHeaders(new Headers({ 'producer-id': 'p' })))).toBe('INCOMPLETE_PRODUCER')
    expect(code(() => parseProducerHeaders(new Headers({ 'producer-id': ' ', 'producer-epoch': '1', 'producer-seq': '2' })))).toBe(
      'INVALID_PRODUCER_ID',
    )
    expect(code(() => parseProducerHeaders(new Headers({ 'producer-id': 'p', 'producer-epoch': '-1', 'producer-seq': '2' })))).toBe(
      'INVALID_PRODUCER_EPOCH',
    )
  })
})
