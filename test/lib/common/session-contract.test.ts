import { describe, expect, it } from 'vitest'
import {
  EXIT_CRASHED,
  EXIT_FENCED,
  EXIT_STOPPED,
  immutableEventId,
  isImmutableChannel,
  sessionApiPath,
  sessionIdOfStreamPath,
  sessionPagePath,
  sessionStreamPath,
  sessionStreamUrl,
} from '../../../src/lib/common/session-contract'

describe('session contract', () => {
  it('builds stream URLs under a path or an absolute base, encoding the id once', () => {
    expect(sessionStreamUrl('/api/streams', 's_a b')).toBe('/api/streams/sessions/s_a%20b')
    expect(sessionStreamUrl('http://127.0.0.1:3000/api/streams/', 's_1')).toBe('http://127.0.0.1:3000/api/streams/sessions/s_1')
    expect(sessionStreamPath('s_1')).toBe('sessions/s_1')
    expect(sessionPagePath('s/1')).toBe('/sessions/s%2F1')
  })

  it('reads the session id back from a stream path, and nothing from other paths', () => {
    expect(sessionIdOfStreamPath(sessionStreamPath('s_x'))).toBe('s_x')
    for (const path of ['sessions/', 'sessions/a/b', 'scratch/x', 'sessionsX/a', '__ds/sessions/a'])
      expect(sessionIdOfStreamPath(path)).toBeNull()
  })

  it('builds the sessions API paths the browser and the worker call', () => {
    expect(sessionApiPath('s_1')).toBe('/api/sessions/s_1')
    expect(sessionApiPath('s_1', 'join')).toBe('/api/sessions/s_1/join')
    expect(sessionApiPath('s 1', 'model', 'http://h:3000/')).toBe('http://h:3000/api/sessions/s%201/model')
  })

  it('gives immutable entries one event id per entry, and no other channel one', () => {
    expect(immutableEventId('terminal', 'cmd-1')).toBe('terminal:cmd-1')
    expect(['chunk', 'terminal'].every(isImmutableChannel)).toBe(true)
    expect(['tool-call', 'presence', 'agent-state'].some(isImmutableChannel)).toBe(false)
  })

  it('keeps the worker exit codes the supervisor relies on distinct (75 = fenced, EX_TEMPFAIL)', () => {
    expect([EXIT_STOPPED, EXIT_CRASHED, EXIT_FENCED]).toEqual([0, 1, 75])
  })
})
