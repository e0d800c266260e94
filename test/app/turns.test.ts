/**
 * Bar 2 of issue #10, in the browser against the production build and the real echo worker
 * (process runtime): each user message shows its turn's state. A normal turn goes accepted →
 * streaming → done; Stop mid-turn ends it cancelled, naming who stopped it; a worker killed with
 * SIGKILL mid-turn shows interrupted, then the restarted worker resumes it to done; closing the
 * only tab mid-turn does not stop the turn. The order is checked on the stream's records (the
 * truth every client folds) and on what the page showed.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
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

async function join(url: string, name: string): Promise<{ page: Page; close: () => Promise<void> }> {
  const { context, page } = await newPage(browser)
  await context.addInitScript((displayName) => {
    if (!localStorage.getItem('tether.identity'))
      localStorage.setItem('tether.identity', JSON.stringify({ userId: `local-${displayName}`, displayName }))
  }, name)
  await page.goto(url)
  await page.waitForSelector('[data-testid="connection"][data-state="live"]')
  // Record every turn state each user message shows, in order (deduplicated), as it changes.
  await page.evaluate(() => {
    const seen: Record<string, string[]> = {}
    ;(window as unknown as { __turns: typeof seen }).__turns = seen
    const look = () => {
      for (const el of document.querySelectorAll('[data-testid="message"][data-role="user"]')) {
        const id = el.getAttribute('data-message-id') ?? ''
        const status = el.querySelector('[data-testid="turn-status"]')?.getAttribute('data-turn-status')
        if (!status) continue
        const list = (seen[id] ??= [])
        if (list.at(-1) !== status) list.push(status)
      }
    }
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true })
  })
  return { page, close: () => context.close() }
}

async function send(page: Page, text: string): Promise<string> {
  await page.locator('#composer-input').fill(text)
  await page.keyboard.press('Enter')
  const message = page.locator('[data-testid="message"][data-role="user"]', { hasText: text }).last()
  await message.waitFor()
  await until(page, 'the message id', async () => (await message.getAttribute('data-pending')) === 'false')
  return (await message.getAttribute('data-message-id')) ?? ''
}

const turnStatus = (page: Page, messageId: string) =>
  page.locator(`[data-testid="message"][data-message-id="${messageId}"] [data-testid="turn-status"]`)
const statusOf = (page: Page, messageId: string) => turnStatus(page, messageId).getAttribute('data-turn-status', { timeout: 1000 })
const seenInPage = (page: Page, messageId: string) =>
  page.evaluate((id) => (window as unknown as { __turns: Record<string, string[]> }).__turns[id] ?? [], messageId)

/** The turn record's states in stream order, and the controls, from a separate reader. */
async function recorded(sessionId: string, messageId: string) {
  const admin = await server.token('admin')
  const events = await readStream(server, admin, sessionId)
  const turns = events.filter((e) => e.type === 'agent-state' && e.key === `turn:${messageId}`).map((e) => e.value ?? {})
  const controls = events.filter((e) => e.type === 'agent-state' && e.value?.kind === 'control').map((e) => e.value ?? {})
  return { statuses: turns.map((t) => String(t.status)), last: turns.at(-1), controls }
}

/** A UI sequence must follow the stream's order (it may skip states that passed between two paints). */
function isOrderedSubsequence(seen: string[], order: string[]): boolean {
  let i = 0
  for (const s of seen) {
    while (i < order.length && order[i] !== s) i++
    if (i === order.length) return false
  }
  return true
}

/** The pid of the worker process serving `sessionId` (the process runtime puts it in the env). */
function workerPid(sessionId: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`TETHER_SESSION_ID=${sessionId}`)) return Number(entry)
    } catch {
      // gone, or not ours to read
    }
  }
  return null
}

describe('turns you can see', () => {
  it('a normal turn shows accepted → streaming → done on its message, in that order', async () => {
    const session = await createSession(server, await server.token('admin'), 'Normal turn')
    const alice = await join(session.shareUrl, 'Alice')
    const messageId = await send(alice.page, '/slow /count 25')
    await until(alice.page, 'done', async () => (await statusOf(alice.page, messageId)) === 'done')
    const { statuses, last } = await recorded(session.id, messageId)
    expect(statuses).toEqual(['accepted', 'streaming', 'done'])
    expect(last).toMatchObject({ turn: 1, messageId, endedAt: expect.any(Number) })
    const seen = await seenInPage(alice.page, messageId)
    expect(seen).toContain('streaming')
    expect(seen.at(-1)).toBe('done')
    expect(isOrderedSubsequence(seen, statuses)).toBe(true)
    expect(await turnStatus(alice.page, messageId).textContent()).toBe('done')
    await expect.poll(() => alice.page.locator('[data-testid="stop"]').isDisabled()).toBe(true)
    await alice.close()
  })

  it('Stop mid-turn ends the turn cancelled, naming who stopped it; the agent takes the next message', async () => {
    const session = await createSession(server, await server.token('admin'), 'Stopped turn')
    const alice = await join(session.shareUrl, 'Alice')
    const messageId = await send(alice.page, '/slow /count 300')
    await until(alice.page, 'streaming', async () => (await statusOf(alice.page, messageId)) === 'streaming')
    await alice.page.locator('[data-testid="stop"]:not([disabled])').click()
    await until(alice.page, 'cancelled', async () => (await statusOf(alice.page, messageId)) === 'cancelled')
    expect(await turnStatus(alice.page, messageId).textContent()).toBe('stopped by Alice')
    const { statuses, last, controls } = await recorded(session.id, messageId)
    expect(statuses).toEqual(['accepted', 'streaming', 'cancelled'])
    // The stop is a logged command and the turn's final record names it.
    expect(controls).toHaveLength(1)
    expect(controls[0]).toMatchObject({ action: 'cancel', messageId })
    expect(last?.stopRequest).toBe(controls[0].id)
    expect(String(last?.reason)).toContain(String(controls[0].requestedBy))
    // Stop cancelled the turn, not the agent.
    const next = await send(alice.page, 'still there?')
    await until(alice.page, 'the next turn done', async () => (await statusOf(alice.page, next)) === 'done')
    await alice.close()
  })

  it('a worker killed (SIGKILL) mid-turn shows interrupted, then the restarted worker resumes the turn to done', async () => {
    const session = await createSession(server, await server.token('admin'), 'Killed worker')
    const alice = await join(session.shareUrl, 'Alice')
    const messageId = await send(alice.page, '/slow /count 120')
    await until(alice.page, 'streaming', async () => (await statusOf(alice.page, messageId)) === 'streaming')
    const pid = workerPid(session.id)
    expect(pid).not.toBeNull()
    process.kill(pid!, 'SIGKILL')
    await until(alice.page, 'done after the restart', async () => (await statusOf(alice.page, messageId)) === 'done', 120_000)
    const { statuses, last } = await recorded(session.id, messageId)
    expect(statuses).toEqual(['accepted', 'streaming', 'interrupted', 'streaming', 'done'])
    expect(last).toMatchObject({ interruptions: 1 })
    expect(workerPid(session.id)).not.toBe(pid)
    expect(await turnStatus(alice.page, messageId).textContent()).toBe('interrupted, resumed · done')
    const seen = await seenInPage(alice.page, messageId)
    expect(isOrderedSubsequence(seen, statuses)).toBe(true)
    await alice.close()
  })

  it('closing the only tab mid-turn does not stop the turn: a second client finds it done', async () => {
    const session = await createSession(server, await server.token('admin'), 'Closed tab')
    const alice = await join(session.shareUrl, 'Alice')
    const messageId = await send(alice.page, '/slow /count 60')
    await until(alice.page, 'streaming', async () => (await statusOf(alice.page, messageId)) === 'streaming')
    // The page goes away as a closing tab does (pagehide, presence leave, connections dropped).
    await alice.page.close({ runBeforeUnload: true })
    await alice.close()
    await expect
      .poll(async () => (await recorded(session.id, messageId)).last?.status, { timeout: 60_000, interval: 250 })
      .toBe('done')
    const { statuses, controls } = await recorded(session.id, messageId)
    expect(statuses).toEqual(['accepted', 'streaming', 'done'])
    expect(controls).toEqual([])
  })
})
