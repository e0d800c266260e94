/**
 * Where the wiring keeps workspace snapshots (supervisor-wiring.ts snapshotsRoot): the data dir by
 * default, TETHER_WORKSPACES_DIR (a volume several nodes share) when set, and never inside the
 * process workers' work root or around it, where an agent's `..` would reach other sessions' files.
 */
import { describe, expect, it } from 'vitest'
import { loadSettings } from '../../../src/lib/settings'
import { snapshotsRoot } from '../../../src/lib/workers/supervisor-wiring'

const workers = (env: Record<string, string>) => loadSettings(env).workers

describe('workspace snapshots root', () => {
  it('is <data dir>/workspaces by default and TETHER_WORKSPACES_DIR when set', () => {
    expect(snapshotsRoot('/srv/tether', workers({}))).toBe('/srv/tether/workspaces')
    expect(snapshotsRoot('/srv/tether', workers({ TETHER_WORKSPACES_DIR: '/mnt/shared/workspaces' }))).toBe('/mnt/shared/workspaces')
  })

  it('refuses a dir inside the work root, the work root itself, or one that holds it', () => {
    const env = { TETHER_WORK_ROOT: '/var/tether-work' }
    for (const dir of ['/var/tether-work', '/var/tether-work/snapshots', '/var']) {
      expect(() => snapshotsRoot('/srv/tether', workers({ ...env, TETHER_WORKSPACES_DIR: dir })), dir).toThrow(/work root/)
    }
    expect(snapshotsRoot('/srv/tether', workers({ ...env, TETHER_WORKSPACES_DIR: '/var/tether-work-snapshots' }))).toBe('/var/tether-work-snapshots')
  })

  it('refuses a relative TETHER_WORKSPACES_DIR at start, with the reason', () => {
    expect(() => workers({ TETHER_WORKSPACES_DIR: 'relative/dir' })).toThrow(/absolute path/)
  })
})
