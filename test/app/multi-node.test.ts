/**
 * Issue 14, bar 2 (the app): three production Tether nodes on one PostgreSQL database, as a load
 * balancer would spread people over them.
 * - Messages posted on node 1 reach an SSE reader on node 2 and long-poll readers on nodes 2 and
 *   3 through the app's authenticated stream route, each exactly once and in order.
 * - Two people in two browsers, one on node 2 and one on node 3, collaborate in one session: each
 *   sees the other's presence, a message one sends and the agent's answer, and a terminal command
 *   the other runs, with its output.
 */
import { randomBytes } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { followLongPoll, followSse, type FollowOptions } from '../support/follow-stream'
import { freshDatabase, type TestDatabase } from '../support/postgres'
import { createSession, launchBrowser, messageTexts, newPage, startServer, terminalText, until, type TestServer } from './support'

const MESSAGES = 60
let db: TestDatabase
let nodes: TestServer[] = []
let browser: Browser

beforeAll(async () => {
  db = await freshDatabase()
  const shared = {
    TETHER_DATABASE_URL: db.url,
    TETHER_SECRET: randomBytes(24).toString('base64url'),
    TETHER_CREDENTIALS_KEY: randomBytes(32).toString('base64'),
  }
  // One at a time: the first migrates the database, the others find it migrated.
  for (let i = 0; i < 3; i++) nodes.push(await startServer(shared))
  browser = await launchBrowser()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  for (const n of nodes) await n.dispose()
  nodes = []
  await db?.drop()
})

async function post(node: TestServer, path: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  })
}

type StreamEvent = { type: string; value?: { role?: string; delta?: string } }

describe('three app nodes on one PostgreSQL', () => {
  it('readers on nodes 2 and 3 see every message posted on node 1 exactly once and in order', async () => {
    const admin = await nodes[0]!.token('admin')
    const created = await post(nodes[0]!, '/api/sessions', admin, { title: 'Spread over three nodes', pattern: 'long-running' })
    expect(created.status).toBe(201)
    const { session } = (await created.json()) as { session: { id: string } }

    const follow: FollowOptions<string> = {
      count: MESSAGES,
      headers: { authorization: `Bearer ${admin}` },
      keep: (m) => (m as StreamEvent).type === 'chunk' && (m as StreamEvent).value?.role === 'user',
      pick: (m) => (m as StreamEvent).value?.delta ?? '',
    }
    const streamOn = (n: number) => `${nodes[n]!.url}/api/streams/sessions/${session.id}`
    const readers = [followSse(streamOn(1), follow), followLongPoll(streamOn(1), follow), followLongPoll(streamOn(2), follow)]
    // Let the readers reach the tail first, so what follows arrives live.
    await new Promise((r) => setTimeout(r, 300))
    const expected = Array.from({ length: MESSAGES }, (_, i) => `message ${i}`)
    for (const text of expected) expect((await post(nodes[0]!, `/api/sessions/${session.id}/messages`, admin, { text })).status).toBeLessThan(300)
    for (const got of await Promise.all(readers)) expect(got).toEqual(expected)
  }, 120_000)

  it('two browsers on two nodes collaborate in one session: presence, messages with the answer, terminal', async () => {
    const admin = await nodes[0]!.token('admin')
    const session = await createSession(nodes[0]!, admin, 'Pairing across nodes')
    const onNode = (n: number) => session.shareUrl.replace(/^https?:\/\/[^/]+/, nodes[n]!.url)

    async function join(url: string, name: string): Promise<{ page: Page; userId: string }> {
      const { context, page } = await newPage(browser)
      await context.addInitScript((displayName) => {
        if (!localStorage.getItem('tether.identity')) localStorage.setItem('tether.identity', JSON.stringify({ userId: `local-${displayName}`, displayName }))
      }, name)
      await page.goto(url)
      await page.waitForSelector('[data-testid="connection"][data-state="live"]')
      const self = page.locator('[data-testid="people"] li', { hasText: '(you)' })
      await self.waitFor()
      return { page, userId: (await self.getAttribute('data-user')) ?? '' }
    }
    const alice = await join(onNode(1), 'Alice')
    const bob = await join(onNode(2), 'Bob')
    expect(alice.userId).not.toBe(bob.userId)

    for (const { page } of [alice, bob]) {
      await page.locator(`[data-testid="people"] li[data-user="${alice.userId}"]`).waitFor()
      await page.locator(`[data-testid="people"] li[data-user="${bob.userId}"]`).waitFor()
    }

    const ask = '/count 12'
    const answer = Array.from({ length: 12 }, (_, i) => String(i + 1)).join(' ')
    await alice.page.keyboard.press('/')
    await alice.page.keyboard.type(ask)
    await alice.page.keyboard.press('Enter')
    for (const { page } of [alice, bob]) {
      await until(page, 'the whole answer', async () => (await messageTexts(page)).some((m) => m.role === 'assistant' && m.text === answer))
      expect((await messageTexts(page)).map((m) => [m.role, m.text])).toEqual([
        ['user', ask],
        ['assistant', answer],
      ])
    }

    await bob.page.keyboard.press('`')
    await bob.page.keyboard.type('echo across-$((6*7))')
    await bob.page.keyboard.press('Enter')
    for (const { page } of [alice, bob]) {
      await until(page, 'the command output in the terminal', async () => (await terminalText(page)).split('\n').includes('across-42'))
      // Run once: one worker (one lease holder) ran it, whichever node holds the session.
      expect((await terminalText(page)).split('\n').filter((r) => r === 'across-42')).toHaveLength(1)
    }
  }, 180_000)
})
