/**
 * The dashboard under auth.strategy keystone, in a real headless Chromium
 * against the real service and a real Keystone: the login form, a member
 * who sees only their project's VIMs, a session cookie scripts cannot read,
 * and logout. Screenshots of the login form at 1280 px and 390 px.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled, DESKTOP, launchChromium, PHONE, type TestBrowser, type TestPage } from '../support/browser.js';
import { buildDashboard } from '../support/dashboard-build.js';
import { openstackVim } from '../support/fixtures.js';
import { keystoneAuthConfig, startKeystone, type KeystoneFixture } from '../support/keystone.js';
import { startTestService, type TestService } from '../support/service.js';

describe.skipIf(!browserTestsEnabled())('the dashboard in Chromium with Keystone logins', () => {
  let keystone: KeystoneFixture;
  let service: TestService;
  let chromium: TestBrowser;

  beforeAll(async () => {
    // The browser first: a missing Chromium fails at once, with how to install it.
    chromium = await launchChromium();
    await buildDashboard();
    keystone = await startKeystone();
    service = await startTestService({
      auth: keystoneAuthConfig(keystone),
    });
    for (const [user, name] of [[keystone.member, 'nfv-vim'], [keystone.otherMember, 'other-vim']] as const) {
      const token = await keystone.issueToken(user);
      const created = await service.api('POST', '/v1.0/vims', { headers: { 'x-auth-token': token }, body: { vim: openstackVim({ name }) } });
      expect(created.status, created.text).toBe(201);
    }
  }, 180_000);

  afterAll(async () => {
    await chromium?.close();
    await service?.stop();
    await keystone?.stop();
  });

  async function signIn(tab: TestPage, password: string): Promise<void> {
    await tab.page.getByLabel('User name', { exact: true }).fill(keystone.member.username);
    await tab.page.getByLabel('Password').fill(password);
    await tab.page.getByLabel('Project', { exact: true }).fill(keystone.member.project);
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('asks for a login, refuses a wrong password, then shows a member only their project VIMs', async () => {
    const phone = await chromium.open(PHONE);
    await phone.page.goto(`${service.url}/`);
    await phone.page.getByRole('heading', { name: 'Sign in to vim-monitor' }).waitFor();
    await phone.screenshot('login-390');
    await phone.context.close();

    const tab = await chromium.open(DESKTOP);
    await tab.page.goto(`${service.url}/`);
    await tab.page.getByRole('heading', { name: 'Sign in to vim-monitor' }).waitFor();
    await tab.screenshot('login-1280');

    await signIn(tab, 'not-the-password');
    await expect.poll(() => tab.page.getByRole('alert').textContent()).toBe('Wrong user name, password or project.');

    await signIn(tab, keystone.member.password);
    await tab.page.locator('table.vims tbody tr').first().waitFor();
    expect(await tab.page.locator('table.vims tbody tr th').allTextContents()).toEqual(['nfv-vim']);
    expect(await tab.page.locator('header .user').textContent()).toBe(`${keystone.member.username} · ${keystone.member.project}`);
    // The session cookie is HttpOnly: the page's scripts cannot read it.
    const cookies = await tab.context.cookies();
    expect(cookies.find((c) => c.name === 'vim_monitor_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await tab.page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).not.toContain('vim_monitor_session');
    // The stream works with the cookie.
    await tab.page.locator('.live.live').waitFor();
    await tab.screenshot('overview-member-1280');
    expect(tab.problems).toEqual([]);
  });

  it('signs out: the session is gone, the cookie cleared, the login form back', async () => {
    const tab = await chromium.open(DESKTOP);
    await tab.page.goto(`${service.url}/ui/`);
    await signIn(tab, keystone.member.password);
    await tab.page.locator('table.vims tbody tr').first().waitFor();
    const cookie = (await tab.context.cookies()).find((c) => c.name === 'vim_monitor_session');
    expect(cookie).toBeDefined();

    await tab.page.getByRole('button', { name: 'Sign out' }).click();
    await tab.page.getByRole('heading', { name: 'Sign in to vim-monitor' }).waitFor();
    expect((await tab.context.cookies()).find((c) => c.name === 'vim_monitor_session')).toBeUndefined();
    // The old cookie no longer opens anything.
    const replay = await fetch(`${service.url}/ui/session`, { headers: { cookie: `vim_monitor_session=${cookie!.value}` } });
    expect(replay.status).toBe(401);
    await tab.page.reload();
    await tab.page.getByRole('heading', { name: 'Sign in to vim-monitor' }).waitFor();
    expect(tab.problems).toEqual([]);
  });
});
