/**
 * Issue #11, bar 1 (the personal-agents part), in a real browser against the production build and
 * a real OpenID provider: Alice signs in, the new-session dialog tells her "No agent configured"
 * and takes her to My agents, where she makes an agent with her own API key (a password box; the
 * page then says only "set"); she starts a session with it from the dialog and invites Bob by
 * account; both write, and the agent answers through a fake Anthropic API that sees Alice's key.
 * Bob's role is enforced (a collaborator may not change the agents or touch Alice's agent), and
 * signing out ends his access. Light and dark, desktop and phone width: no page error, no CSP report.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { say, setupSignInApp } from '../support/oidc-sign-in'
import { messageTexts, screenshot, until } from './support'

const KEY = `sk-ant-bar1-${randomBytes(8).toString('hex')}`
const REPLY = 'Answer paid by Alice'

const app = setupSignInApp({ fakeAnthropic: REPLY })

describe('people run their own agents (issue #11, bar 1)', () => {
  it('Alice makes an agent with her key, starts a session with it, invites Bob; both write; Bob’s role holds; sign-out ends access', async () => {
    const alice = await app.signIn('alice')
    const bob = await app.signIn('bob', { width: 390, dark: true })

    // No agent yet: the dialog says so and leads to My agents.
    await alice.page.locator('[data-testid="new-session"]').click()
    await alice.page.locator('[data-testid="ns-no-agent"]').waitFor()
    expect(await alice.page.locator('[data-testid="ns-no-agent"]').textContent()).toContain('No agent configured')
    await alice.page.locator('[data-testid="ns-create-agent"]').click()
    await alice.page.waitForURL(`${app.server.url}/agents`)
    await alice.page.locator('[data-testid="agents-empty"]').waitFor()

    const form = alice.page.locator('[data-testid="agent-form"]')
    await form.locator('[data-testid="agent-name"]').fill('My Claude')
    await form.locator('[data-testid="agent-provider"]').selectOption('anthropic')
    await form.locator('[data-testid="agent-model"]').fill('anthropic:claude-sonnet-4')
    const keyBox = form.locator('[data-testid="agent-credential"]')
    expect(await keyBox.getAttribute('type')).toBe('password')
    await keyBox.fill(KEY)
    await form.locator('[data-testid="agent-save"]').click()
    const card = alice.page.locator('[data-testid="agent-card"]')
    await card.waitFor()
    expect(await card.locator('[data-testid="agent-card-credential"]').textContent()).toBe('set')
    expect(await keyBox.inputValue()).toBe('')
    // Editing shows "set" with Replace and Clear, never the key.
    await card.locator('[data-testid="agent-edit"]').click()
    const edit = alice.page.locator('[data-testid="agent-edit-form"]')
    expect(await edit.locator('[data-testid="agent-credential-state"]').textContent()).toBe('set')
    await edit.locator('[data-testid="agent-credential-replace"]').waitFor()
    expect(await alice.page.content()).not.toContain(KEY)
    await screenshot(alice.page, 'my-agents-edit')
    await edit.getByRole('button', { name: 'Cancel' }).click()

    // The dialog now offers her agent; the session runs it.
    await alice.page.goto(app.server.url)
    await alice.page.locator('[data-testid="new-session"]').click()
    const picker = alice.page.locator('[data-testid="ns-profile"]')
    await picker.waitFor()
    expect(await picker.locator('option:checked').textContent()).toContain('My Claude')
    expect(await alice.page.locator('#ns-provider').isVisible()).toBe(false)
    // Several agents: each row may come from one of her agents too (the API fills it: profileId).
    await alice.page.locator('[data-testid="ns-several-agents"]').click()
    const rowPick = alice.page.locator('[data-testid="ns-agent-rows"] [data-testid="agent-field-profile"]').first()
    await rowPick.selectOption({ label: 'My Claude' })
    expect(await alice.page.locator('#ns-agent-0-provider').isVisible()).toBe(false)
    await alice.page.getByRole('button', { name: 'Remove agent 2' }).click()
    await alice.page.getByRole('button', { name: 'Remove agent 1' }).click()
    await picker.waitFor()
    await alice.page.locator('#ns-title').fill('With my agent')
    await alice.page.locator('[data-testid="create-session"]').click()
    await alice.page.waitForURL(/\/sessions\/[^/?]+/)
    const sid = new URL(alice.page.url()).pathname.split('/').at(-1) as string
    const session = (await (await alice.get(`/api/sessions/${sid}`)).json()) as { session: { agent: { profileId?: string; model?: string } } }
    expect(session.session.agent).toMatchObject({ model: 'anthropic:claude-sonnet-4', profileId: expect.stringMatching(/^agp_/) })

    expect((await alice.post(`/api/sessions/${sid}/members`, { email: 'bob@example.test', role: 'collaborator' })).status()).toBe(201)
    await bob.page.goto(`${app.server.url}/sessions/${sid}`)
    await say(alice, 'hello from alice')
    await say(bob, 'hello from bob')
    for (const p of [alice, bob]) {
      await until(
        p.page,
        'both messages and the agent’s answer',
        async () => {
          const texts = (await messageTexts(p.page)).map((m) => m.text)
          return texts.includes('hello from alice') && texts.includes('hello from bob') && texts.some((t) => t.includes(REPLY))
        },
        120_000,
      )
    }
    expect(app.fake.keys.length).toBeGreaterThan(0)
    expect(new Set(app.fake.keys)).toEqual(new Set([KEY]))

    // The page offers "Add agent" to Alice, the owner by her account (no token on the page), not to Bob.
    await alice.page.locator('[data-testid="add-agent"]').waitFor()
    expect(await bob.page.locator('[data-testid="add-agent"]').count()).toBe(0)

    // Bob collaborates but may not change the agents, see Alice's agent, or run it elsewhere.
    const profileId = session.session.agent.profileId as string
    expect((await bob.post(`/api/sessions/${sid}/agents`, { id: 'mine', model: 'echo' })).status()).toBe(403)
    expect((await bob.get(`/api/agents/${profileId}`)).status()).toBe(404)
    expect((await bob.post('/api/sessions', { agentProfileId: profileId })).status()).toBe(403)

    // Sign-out ends Bob's access.
    await bob.page.locator('[data-testid="sign-out"]').click()
    await bob.page.locator('[data-testid="sign-in-oidc"]').waitFor()
    expect((await bob.get(`/api/streams/sessions/${sid}?offset=-1`)).status()).toBe(401)
    // My agents at phone width in the dark theme: the form and the card fit the width.
    await alice.page.setViewportSize({ width: 390, height: 844 })
    await alice.page.emulateMedia({ colorScheme: 'dark' })
    await alice.page.goto(`${app.server.url}/agents`)
    await alice.page.locator('[data-testid="agent-card"]').waitFor()
    expect(await alice.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await screenshot(alice.page, 'my-agents-phone-dark')
    for (const p of [alice, bob]) expect(p.errors).toEqual([])
  }, 300_000)
})
