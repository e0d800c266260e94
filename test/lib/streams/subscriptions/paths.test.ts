import { describe, expect, test } from 'vitest'
import { checkPattern, checkStreamPath, compareOffsets, globMatch } from '../../../../src/lib/streams/subscriptions/paths'

describe('globMatch', () => {
  test('* matches exactly one segment', () => {
    expect(globMatch('events/*', 'events/a')).toBe(true)
    expect(globMatch('events/*', 'events')).toBe(false)
    expect(globMatch('events/*', 'events/a/b')).toBe(false)
    expect(globMatch('*/x', 'a/x')).toBe(true)
  })
  test('** matches zero or more segments', () => {
    expect(globMatch('events/**', 'events')).toBe(true)
    expect(globMatch('events/**', 'events/a/b/c')).toBe(true)
    expect(globMatch('a/**/z', 'a/z')).toBe(true)
    expect(globMatch('a/**/z', 'a/b/c/z')).toBe(true)
    expect(globMatch('a/**/z', 'a/b/c/y')).toBe(false)
    expect(globMatch('**', 'anything/at/all')).toBe(true)
    expect(globMatch('a/**/**/z', 'a/q/z')).toBe(true)
  })
  test('literal segments must be equal', () => {
    expect(globMatch('sessions/s1', 'sessions/s1')).toBe(true)
    expect(globMatch('sessions/s1', 'sessions/s2')).toBe(false)
  })
  test('reserved __ds paths never match', () => {
    expect(globMatch('**', '__ds/subscriptions/x')).toBe(false)
  })
})

describe('path and pattern validation', () => {
  test('normalizes slashes and rejects reserved, empty and dot segments', () => {
    expect(checkStreamPath('/events/a/')).toEqual({ path: 'events/a' })
    expect(checkStreamPath('__ds/x')).toHaveProperty('error')
    expect(checkStreamPath('a//b')).toHaveProperty('error')
    expect(checkStreamPath('a/../b')).toHaveProperty('error')
    expect(checkStreamPath('')).toHaveProperty('error')
  })
  test('wildcards must be whole segments', () => {
    expect(checkPattern('events/**')).toEqual({ pattern: 'events/**' })
    expect(checkPattern('events/ev*')).toHaveProperty('error')
  })
})

describe('compareOffsets', () => {
  test('-1 sorts before every real offset; others compare as strings', () => {
    expect(compareOffsets('-1', '0000000000000000_0000000000000000')).toBe(-1)
    expect(compareOffsets('0000000000000001_0000000000000005', '-1')).toBe(1)
    expect(compareOffsets('0000000000000001_0000000000000005', '0000000000000002_0000000000000001')).toBe(-1)
    expect(compareOffsets('x', 'x')).toBe(0)
  })
})
