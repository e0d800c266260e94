/**
 * Issue #11, quotas in the page (production build, real chromium, a real OpenID provider): a
 * person at their running-sessions quota tries to create one more from the New session dialog and
 * reads the reason in words; an admin looks the person up on /admin/stats, raises the quota, and
 * the same dialog then creates the session.
 */
import { describe, expect, it } from 'vitest'
import { accountId, setupSignInApp } from '../support/oidc-sign-in'
import { newPage, openNewSessionDialog, until } from './support'

const app = setupSignInApp({ env: { TETHER_QUOTA_CONCURRENT_SESSIONS: '1' } })

describe('quotas in the page', () => {
  it('the New session dialog shows the quota reason in words; an admin raises the quota on /admin/stats and the dialog then creates it', async () => {
    const alice = await app.signIn('alice')
    const { page, errors } = alice
    const first = await alice.post('/api/sessions', { title: 'the one allowed' })
    expect(first.status()).toBe(201)

    const tryCreate = async (title: string) => {
      await page.goto(app.server.url)
      await openNewSessionDialog(page)
      const dialog = page.getByRole('dialog', { name: 'New session' })
      await dialog.getByLabel('Title').fill(title)
      await dialog.getByTestId('create-session').click()
      return dialog
    }
    const dialog = await tryCreate('one too many')
    const alert = dialog.getByRole('alert')
    await alert.waitFor()
    expect(await alert.textContent()).toBe(
      'You have reached your limit of running sessions (concurrent sessions quota reached: 1 of 1 running; end one of your sessions to start another).',
    )

    // The admin raises Alice's quota from the stats page.
    const admin = await app.server.token('admin')
    const adminPage = (await newPage(app.browser)).page
    await adminPage.goto(`${app.server.url}/admin/stats?range=24h&token=${encodeURIComponent(admin)}`)
    const section = adminPage.getByTestId('user-quotas')
    await section.waitFor()
    await section.getByLabel('User id').fill(await accountId(alice))
    await section.getByRole('button', { name: 'Show' }).click()
    const row = section.getByTestId('quota-concurrentSessions')
    await row.waitFor()
    expect((await row.locator('td').allTextContents()).slice(0, 4)).toEqual(['Running sessions', '1', '1', '1'])
    await section.getByLabel('Running sessions override').fill('2')
    await section.getByRole('button', { name: 'Save quotas' }).click()
    await until(adminPage, 'the new limit shown', async () => (await row.locator('td').nth(2).textContent()) === '2')

    await tryCreate('now allowed')
    await page.waitForURL(/\/sessions\/s_/)
    await until(page, 'the new session open', async () => (await page.getByTestId('session-title').textContent()) === 'now allowed')
    expect(errors).toEqual([])
  })
})
