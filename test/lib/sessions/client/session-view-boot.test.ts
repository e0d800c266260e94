/**
 * The session page's boot script (VIEW_BOOT_SCRIPT, run by the HTML before any module loads) asks
 * for the session's view with the link's or the remembered token, and the page adopts that answer
 * instead of asking again; so does the terminal page's; other pages ask nothing. Real app over HTTP on loopback; the page's
 * globals (location, localStorage, window) are stand-ins, as node has none.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { takePrefetchedView, VIEW_BOOT_SCRIPT } from '../../../../src/lib/sessions/client/session-view'
import { createSession, startHarness, write, type Harness } from '../harness'

let h: Harness
let sid: string
const realFetch = globalThis.fetch

beforeAll(async () => {
  h = await startHarness('builtin')
  sid = await createSession(h)
  await write(h, sid, { channel: 'chunk', data: { messageId: 'm0', role: 'user', author: 'admin-user', turn: 0, seq: 0, delta: 'hello', done: true } })
}, 60_000)
afterAll(async () => h?.close())
afterEach(() => {
  vi.unstubAllGlobals()
})

/** Runs the boot script as the page at `path` would, with `stored` in localStorage; returns the requests it made. */
function boot(path: string, stored: Record<string, string> = {}): Array<{ url: string; authorization: string | null }> {
  const requests: Array<{ url: string; authorization: string | null }> = []
  vi.stubGlobal('window', globalThis)
  vi.stubGlobal('location', new URL(path, h.url))
  vi.stubGlobal('localStorage', { getItem: (k: string) => stored[k] ?? null })
  vi.stubGlobal('fetch', (input: string, init: RequestInit) => {
    const url = new URL(input, h.url)
    requests.push({ url: url.pathname, authorization: new Headers(init.headers).get('authorization') })
    return realFetch(url, init)
  })
  new Function(VIEW_BOOT_SCRIPT)()
  return requests
}

describe('the session page boot script', () => {
  it("asks for the view with the link's token, and the page adopts that answer", async () => {
    const requests = boot(`/sessions/${sid}?token=${h.adminToken}`)
    expect(requests).toEqual([{ url: `/api/sessions/${sid}/view`, authorization: `Bearer ${h.adminToken}` }])
    const view = await takePrefetchedView(sid)
    expect(view?.events.some((e) => e.key === 'm0:0')).toBe(true)
    expect(requests).toHaveLength(1)
  })

  it('uses the token remembered for the session when the link has none', () => {
    const requests = boot(`/sessions/${sid}`, { [`tether.token.session.${sid}`]: 'remembered', 'tether.token.admin': 'admin' })
    expect(requests.map((r) => r.authorization)).toEqual(['Bearer remembered'])
  })

  it('asks on the terminal page too, and nothing on other pages (the session list, other paths)', async () => {
    // A session of its own: the page adopts a session's boot answer once.
    const terminal = await createSession(h)
    await write(h, terminal, { channel: 'terminal', data: { id: 'c0', kind: 'input', source: 'admin-user', data: 'ls' } })
    expect(boot(`/sessions/${terminal}/terminal?token=${h.adminToken}`)).toEqual([
      { url: `/api/sessions/${terminal}/view`, authorization: `Bearer ${h.adminToken}` },
    ])
    expect((await takePrefetchedView(terminal))?.events.some((e) => e.key === 'c0')).toBe(true)
    expect(boot('/?token=x')).toEqual([])
    expect(boot(`/sessions/${sid}/terminal/x?token=x`)).toEqual([])
    expect(boot(`/sessions/${sid}/messages?token=x`)).toEqual([])
  })

  it('leaves a refused view unused: the page asks again itself', async () => {
    const other = await createSession(h)
    boot(`/sessions/${other}?token=not-a-token`)
    expect(await takePrefetchedView(other)).toBeUndefined()
  })
})
