/**
 * "Fork from here" in the browser (issue #10), against the production build and the real echo
 * worker: an admin forks at the end of turn 1 and lands on the new session, whose header says
 * where it came from (linking to the source) and whose agent has turn 1's file only; a
 * collaborator sees the action disabled, with the reason in its title.
 */
import { describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { createSession, newPage, readStream, setupServerAndBrowser, until, type TestServer } from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser(
  (started, launched) => {
    server = started
    browser = launched
  },
  { TETHER_WORKER_RUNTIME: 'process', TETHER_WARM_POOL_SIZE_PROCESS: '0' },
)

async function post(path: string, token: string, body: unknown): Promise<void> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  })
  expect(res.status).toBeLessThan(300)
}

// biome-ignore lint/suspicious/noExplicitAny: tests read loose JSON events
const turnDone = (events: any[], messageId: string) =>
  events.some((e) => e.type === 'agent-state' && e.key === `turn:${messageId}` && e.value?.status === 'done')

describe('fork from here', () => {
  it('an admin forks at a finished turn and lands on the fork, which names its source; a collaborator may not', async () => {
    const admin = await server.token('admin')
    const source = await createSession(server, admin, 'Fork me')
    const ids: string[] = []
    for (const file of ['one.txt', 'two.txt']) {
      const id = `m-${file}`
      await post(`/api/sessions/${source.id}/messages`, admin, { text: `/write ${file} hi`, messageId: id })
      ids.push(id)
      const deadline = Date.now() + 60_000
      while (!turnDone(await readStream(server, admin, source.id), id)) {
        if (Date.now() > deadline) throw new Error(`turn for ${id} did not finish`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }

    // A collaborator (the share link): the action is there but disabled, saying why.
    const collab = await newPage(browser)
    await collab.page.goto(source.shareUrl)
    const collabFork = collab.page.locator(`[data-message-id="${ids[0]}"] [data-testid="fork-action"]`)
    await collabFork.waitFor()
    expect(await collabFork.isDisabled()).toBe(true)
    expect(await collabFork.getAttribute('title')).toBe('Only an admin can fork a session')
    await collab.context.close()

    // The admin: fork at the end of turn 1.
    const { context, page } = await newPage(browser)
    await context.addInitScript((token) => localStorage.setItem('tether.token.admin', token), admin)
    await page.goto(`${server.url}/sessions/${source.id}`)
    const fork = page.locator(`[data-message-id="${ids[0]}"] [data-testid="fork-action"]`)
    await fork.waitFor()
    expect(await fork.isDisabled()).toBe(false)
    await fork.click()
    await until(page, 'the fork page', () => !page.url().includes(source.id) && /\/sessions\/s_/.test(page.url()))
    const forkId = /\/sessions\/([^/?#]+)/.exec(page.url())?.[1] ?? ''
    const lineage = page.locator('[data-testid="fork-lineage"]')
    await lineage.waitFor()
    await until(page, 'the source title', async () => (await lineage.textContent())?.includes('Fork me') ?? false)
    expect(await lineage.textContent()).toContain('at turn 1')
    expect(await lineage.locator('a').getAttribute('href')).toBe(`/sessions/${source.id}`)
    // The fork shows turn 1 (inherited) and not turn 2.
    await page.locator(`[data-message-id="${ids[0]}"]`).waitFor()
    expect(await page.locator(`[data-message-id="${ids[1]}"]`).count()).toBe(0)
    const events = await readStream(server, admin, forkId)
    expect(events.some((e) => e.type === 'chunk' && e.value?.messageId === `fork:${forkId}`)).toBe(true)
    await context.close()
  })
})
