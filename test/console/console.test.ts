// The console (docs/reference/review.md) in Debian's Chromium driven by playwright-core: sign in, find an unused scope in
// the review, remove it in one click, see the new epoch and the identity's old token turn inactive; the
// page never stores the token and is served under a strict CSP. Screenshots are taken on every run but go to
// docs/console/ (the README's pictures) only when TALLY_UPDATE_SCREENSHOTS=1 asks, so an ordinary run leaves
// the git tree clean; otherwise to a temporary directory, removed afterwards:
//   TALLY_UPDATE_SCREENSHOTS=1 npx tap test/console/console.test.ts
import t from '../support/tap.js'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { ADMIN_SECRET, adminToken, basic, build, form, FORM_TYPE, requestToken } from '../helper.js'
import { createClient, createResource } from '../support/admin.js'
import { CONSOLE_CSP } from '../../server/console/plugin.js'

// Each run of the real binary or browser takes seconds on a loaded machine.
t.setTimeout(300_000)
const CHROMIUM = '/usr/bin/chromium'
const UPDATE_SCREENSHOTS = process.env.TALLY_UPDATE_SCREENSHOTS === '1'
const SHOTS = UPDATE_SCREENSHOTS ? join(import.meta.dirname, '../../docs/console') : mkdtempSync(join(tmpdir(), 'tally-console-shots-'))
if (!UPDATE_SCREENSHOTS) t.teardown(() => { rmSync(SHOTS, { recursive: true, force: true }) })

if (!existsSync(CHROMIUM)) {
  t.fail(`${CHROMIUM} is missing: run scripts/ci/install-chromium.sh`)
} else {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const origin = `http://127.0.0.1:${port}`
  const admin = await adminToken(app)
  const { identifier: resource } = await createResource(app, admin, { scopes: ['reports:read', 'reports:write'] })
  const client = await createClient(app, admin, { clientId: 'reporting-job', entitlements: [{ resource, scopes: ['reports:read', 'reports:write'] }] })
  const oldToken = (await requestToken(app, client.clientId, client.secret, { scope: 'reports:read' })).json().access_token as string
  const introspect = async (): Promise<unknown> => (await app.inject({
    method: 'POST', url: '/introspect', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM_TYPE }, payload: form({ token: oldToken })
  })).json()

  const userDataDir = mkdtempSync(join(tmpdir(), 'tally-chromium-'))
  t.teardown(() => { rmSync(userDataDir, { recursive: true, force: true }) })
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 }
  })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const otherOrigins: string[] = []
  page.on('request', (r) => { if (!r.url().startsWith(origin)) otherOrigins.push(r.url()) })
  const cspViolations: string[] = []
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()) })

  t.test('the console serves under a strict CSP', async (t) => {
    const res = await page.goto(`${origin}/console`)
    t.equal(res?.status(), 200)
    const headers = res?.headers() ?? {}
    t.equal(headers['content-security-policy'], CONSOLE_CSP, 'CSP header')
    t.match(CONSOLE_CSP, /default-src 'self'.*script-src 'self'.*frame-ancestors 'none'/, 'self only, no framing')
    t.notMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|https?:/, 'no inline script, no other origin')
    t.equal(headers['x-content-type-options'], 'nosniff')
    await page.screenshot({ path: join(SHOTS, 'sign-in.png') })
  })

  t.test('sign in, find the unused scope, remove it: the epoch goes up and the old token is inactive', async (t) => {
    t.match(await introspect(), { active: true, epoch: 1 }, 'the old token is active before')
    await page.getByLabel('Client ID').fill('admin')
    await page.getByLabel('Client secret').fill(ADMIN_SECRET)
    await page.getByLabel('Client secret').press('Enter')
    await page.getByRole('heading', { name: /^Identities/ }).waitFor()
    await page.screenshot({ path: join(SHOTS, 'identities.png') })

    await page.getByRole('button', { name: 'Open reporting-job' }).click()
    await page.getByRole('heading', { name: 'Identity reporting-job' }).waitFor()
    t.equal(await page.locator('table').nth(2).locator('tbody tr').count(), 1, 'one session listed')
    await page.screenshot({ path: join(SHOTS, 'identity.png'), fullPage: true })

    await page.getByRole('button', { name: 'Access review' }).click()
    const remove = page.getByRole('button', { name: 'Remove scope reports:write from reporting-job' })
    await remove.waitFor()
    await page.screenshot({ path: join(SHOTS, 'review.png'), fullPage: true })
    await remove.focus()
    await page.keyboard.press('Enter')
    await page.getByText('Removed from reporting-job: epoch is now 2').waitFor()
    t.pass('the console shows the new epoch')
    await page.screenshot({ path: join(SHOTS, 'review-after.png'), fullPage: true })
    t.strictSame(await introspect(), { active: false }, 'the old token is no longer active')
    t.equal(await page.getByRole('button', { name: 'Remove scope reports:write from reporting-job' }).count(), 0, 'the finding is gone')
  })

  t.test('nothing stored, nothing fetched elsewhere, no CSP violation; a reload signs out', async (t) => {
    const storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }))
    t.strictSame(storage, { local: 0, session: 0, cookie: '' }, 'localStorage, sessionStorage and cookies are empty')
    t.strictSame(otherOrigins, [], 'no request left the origin')
    t.strictSame(cspViolations, [], 'no CSP violation')
    await page.reload()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    t.equal(await page.locator('#nav').isHidden(), true, 'signed out after a reload')
  })
}
