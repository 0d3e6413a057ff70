/**
 * The dashboard in a real headless Chromium (Debian's, driven by
 * playwright-core) against the real service with a real SQLite store, real
 * TCP targets on loopback and the real tcp probe, under noauth on loopback.
 * Screenshots of every view at 1280 px and 390 px go to
 * test-results/screenshots/.
 *
 * The VIM page's chart and uptime bars read history written through
 * HistoryRepository.save (the recorder's write) for the days before today,
 * the VIM's registration dated back 90 days (uptime counts from it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled, computedStyle, DESKTOP, launchChromium, markDocument, PHONE, stillSameDocument, type TestBrowser, type TestPage } from '../support/browser.js';
import { buildDashboard } from '../support/dashboard-build.js';
import { backdateVim, seedHistory, type SeedDay } from '../support/history-seed.js';
import { waitFor } from '../support/monitoring.js';
import { startTestService, type TestService } from '../support/service.js';
import { TcpTarget } from '../support/tcp-target.js';

// Two failed rounds make a VIM UNREACHABLE: a connect slowed by a busy machine does not flap the VIMs that stay up.
const monitor = { probes: ['tcp' as const], interval: 0.5, timeout: 0.45, failure_threshold: 2, success_threshold: 1 };

describe.skipIf(!browserTestsEnabled())('the dashboard in Chromium (noauth)', () => {
  const alpha = new TcpTarget();
  const bravo = new TcpTarget();
  const charlie = new TcpTarget();
  let service: TestService;
  let chromium: TestBrowser;
  const ids: Record<string, string> = {};
  const pages: TestPage[] = [];

  beforeAll(async () => {
    // The browser first: a missing Chromium fails at once, with how to install it.
    chromium = await launchChromium();
    await buildDashboard();
    await alpha.up();
    await bravo.up();
    // charlie's port is taken and released: a closed port on loopback, so its VIM is UNREACHABLE from the start.
    await charlie.up();
    await charlie.down();
    service = await startTestService({ monitoring: { monitor, manager: { sweep_interval: 0.5 } } });
    for (const [name, target] of [['alpha', alpha], ['bravo', bravo], ['charlie', charlie]] as const) {
      const body = { vim: { name, type: 'openstack', auth_url: `http://127.0.0.1:${target.port}`, auth_cred: { username: 'u', password: 'p' }, vim_project: { name: 'p' } } };
      const created = await service.api('POST', '/v1.0/vims', { body });
      expect(created.status, created.text).toBe(201);
      ids[name] = created.json.vim.id as string;
    }
    for (const [name, status] of [['alpha', 'REACHABLE'], ['bravo', 'REACHABLE'], ['charlie', 'UNREACHABLE']] as const) {
      await waitFor(`${name} ${status}`, async () => ((await service.api('GET', `/v1.0/vims/${ids[name]}`)).json.vim.status === status ? true : undefined), 5_000);
    }
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await service?.stop();
    await alpha.down();
    await bravo.down();
  });

  async function open(viewport: { width: number; height: number } = DESKTOP): Promise<TestPage> {
    const opened = await chromium.open(viewport);
    pages.push(opened);
    return opened;
  }

  const rowOf = (page: TestPage, name: string) => page.page.locator(`tr[data-vim-id="${ids[name]}"]`);

  it('opens at / in a browser, lists every VIM with its status, problems first', async () => {
    const tab = await open();
    const response = await tab.page.goto(`${service.url}/`);
    expect(tab.page.url()).toBe(`${service.url}/ui/`);
    expect(response?.status()).toBe(200);
    await tab.page.locator('table.vims tbody tr').nth(2).waitFor();
    // Keyboard: the first Tab reaches the skip link, which moves focus to the content and stays on the view.
    await tab.page.keyboard.press('Tab');
    expect(await tab.page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent)).toBe('Skip to content');
    await tab.page.keyboard.press('Enter');
    expect(await tab.page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).toBe('main');
    expect(new URL(tab.page.url()).hash).toBe('');

    const rows = await tab.page.locator('table.vims tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('th')?.textContent, tr.getAttribute('data-status')]));
    expect(rows).toEqual([
      ['charlie', 'UNREACHABLE'],
      ['alpha', 'REACHABLE'],
      ['bravo', 'REACHABLE'],
    ]);
    await expect.poll(() => tab.page.getByRole('button', { name: /UNREACHABLE/ }).textContent()).toMatch(/^1\s*UNREACHABLE$/);
    await expect.poll(() => tab.page.getByRole('button', { name: /^\d+\s*REACHABLE$/ }).textContent()).toMatch(/^2\s*REACHABLE$/);

    // Filters narrow the list; the search box is labelled.
    await tab.page.getByLabel('Name or id').fill('alp');
    await expect.poll(() => tab.page.locator('table.vims tbody tr').count()).toBe(1);
    await tab.page.getByRole('button', { name: 'Clear filters' }).click();
    await tab.page.getByLabel('Status', { exact: true }).selectOption('UNREACHABLE');
    await expect.poll(() => tab.page.locator('table.vims tbody tr th').allTextContents()).toEqual(['charlie']);
    await tab.page.getByLabel('Status', { exact: true }).selectOption('');

    await tab.screenshot('overview-1280');
    const phone = await open(PHONE);
    await phone.page.goto(`${service.url}/ui/`);
    await phone.page.locator('table.vims tbody tr').nth(2).waitFor();
    await phone.screenshot('overview-390');
    expect(tab.problems).toEqual([]);
    expect(phone.problems).toEqual([]);
  });

  it('turns a VIM red without a reload when its target goes down, and says so to screen readers', async () => {
    const tab = await open();
    await tab.page.goto(`${service.url}/ui/`);
    await rowOf(tab, 'bravo').waitFor();
    expect(await rowOf(tab, 'bravo').getAttribute('data-status')).toBe('REACHABLE');
    await tab.page.locator('.live.live').waitFor();
    // Set on this document only: still there afterwards means the page was never reloaded.
    await markDocument(tab.page);
    const requests: string[] = [];
    tab.page.on('request', (request) => requests.push(request.url()));

    await bravo.down();
    await expect.poll(() => rowOf(tab, 'bravo').getAttribute('data-status'), { timeout: 10_000 }).toBe('UNREACHABLE');
    const badge = rowOf(tab, 'bravo').locator('.badge[data-status]');
    expect(await badge.textContent()).toBe('UNREACHABLE');
    // Red: the badge's background is the "bad" colour of the stylesheet.
    expect(await computedStyle(badge, 'backgroundColor')).toBe('rgb(255, 235, 233)');
    expect(await stillSameDocument(tab.page)).toBe(true);
    await expect.poll(() => tab.page.getByRole('status').textContent()).toContain('bravo is now UNREACHABLE');
    // It came over the event stream, not by polling the list.
    expect(requests.filter((url) => url.includes('/v1.0/vims'))).toEqual([]);
    await tab.screenshot('overview-live-1280');

    await bravo.up();
    await expect.poll(() => rowOf(tab, 'bravo').getAttribute('data-status'), { timeout: 10_000 }).toBe('REACHABLE');
    expect(tab.problems).toEqual([]);
  });
  it('shows a VIM with its latency chart and 90 days of uptime bars from stored history, its conditions, monitor and events', async () => {
    const id = ids.alpha!;
    const monitorId = (await service.api('GET', `/v1.0/vims/${id}/monitor`)).json.monitor.monitor_id as string;
    const days: SeedDay[] = Array.from({ length: 89 }, (_, i) => ({ daysAgo: i + 1 }));
    days[9] = { daysAgo: 10, downMs: 3_600_000, downHours: [2, 3, 4, 5] }; // 4 h down: 83 %, a red bar
    days[29] = { daysAgo: 30, downMs: 20 * 60_000, downHours: [12] }; // 20 min down: 98.6 %, an amber bar
    await seedHistory(service.store, id, monitorId, days);
    await backdateVim(service.store, id, Date.now() - 90 * 86_400_000);
    const history = await service.api('GET', `/v1.0/vims/${id}/history?step=day&from=${new Date(Date.now() - 89 * 86_400_000).toISOString()}`);
    expect(history.status, history.text).toBe(200);

    for (const [viewport, name] of [[DESKTOP, 'vim-1280'], [PHONE, 'vim-390']] as const) {
      const tab = await open(viewport);
      await tab.page.goto(`${service.url}/ui/#/vims/${id}`);
      await tab.page.getByRole('heading', { level: 1, name: /alpha/ }).waitFor();
      // uPlot draws on a canvas, with a legend per probe series.
      await tab.page.locator('.chart canvas').first().waitFor();
      expect(await tab.page.locator('.u-legend').textContent()).toContain('tcp p50');
      const bars = tab.page.locator('.uptime-bars span');
      expect(await bars.count()).toBe(90);
      const dayAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
      expect(await tab.page.locator(`.uptime-bars span[data-day="${dayAgo(10)}"]`).getAttribute('class')).toBe('bad');
      expect(await tab.page.locator(`.uptime-bars span[data-day="${dayAgo(30)}"]`).getAttribute('class')).toBe('warn');
      expect(await tab.page.locator(`.uptime-bars span[data-day="${dayAgo(50)}"]`).getAttribute('class')).toBe('ok');
      expect(await tab.page.locator('.uptime-figures [data-window="90d"] strong').textContent()).toMatch(/^99\.\d\d %$/);
      await tab.page.locator('tr[data-condition]').first().waitFor();
      await tab.page.locator('[data-probe="tcp"]').waitFor();
      expect(await tab.page.locator('.timeline li').count()).toBeGreaterThan(0);
      await tab.screenshot(name);
      await tab.screenshot(`${name}-top`, { fullPage: false });
      expect(tab.problems).toEqual([]);
    }
  });

  it('lists the latest events, newest first, and the workers with their monitors', async () => {
    for (const [viewport, suffix] of [[DESKTOP, '1280'], [PHONE, '390']] as const) {
      const tab = await open(viewport);
      await tab.page.goto(`${service.url}/ui/#/events`);
      await tab.page.locator('.timeline li').first().waitFor();
      await tab.page.getByLabel('Kind').selectOption('MONITOR');
      await tab.page.getByLabel('VIM name').fill('bravo');
      // bravo went down and came back in a test before: its return is its latest status change.
      await expect.poll(() => tab.page.locator('.timeline li').first().textContent()).toMatch(/bravo\s*UNREACHABLE → REACHABLE/);
      expect(await tab.page.locator('.timeline li', { hasNotText: 'bravo' }).count()).toBe(0);
      await tab.page.getByLabel('VIM name').fill('');
      await tab.page.getByLabel('Kind').selectOption('');
      await tab.screenshot(`events-${suffix}`);

      await tab.page.getByRole('link', { name: 'Workers' }).click();
      await tab.page.locator('table.workers tbody tr').first().waitFor();
      expect(await tab.page.locator('table.workers tbody tr td').first().textContent()).toBe('3');
      expect(await tab.page.locator('table.monitors tbody tr').count()).toBe(3);
      await tab.screenshot(`workers-${suffix}`);
      expect(tab.problems).toEqual([]);
    }
  });
  it('starts a maintenance window and deletes a VIM through the API, showing the API refusal when there is one', async () => {
    const tab = await open();
    await tab.page.goto(`${service.url}/ui/#/vims/${ids.bravo}`);
    await tab.page.getByLabel('Reason').fill('router firmware');
    await tab.page.getByLabel('For', { exact: true }).selectOption('60');
    await tab.page.getByRole('button', { name: 'Start maintenance now' }).click();
    await tab.page.locator('ul.plain li', { hasText: 'router firmware' }).getByText('open now').waitFor();
    await expect.poll(async () => (await service.api('GET', `/v1.0/vims/${ids.bravo}`)).json.vim.maintenance?.reason).toBe('router firmware');

    // A second tab still shows charlie when the first deletes it: its own delete gets the API's 404, shown.
    const stale = await open();
    await stale.page.goto(`${service.url}/ui/#/vims/${ids.charlie}`);
    await stale.page.getByRole('button', { name: 'Delete this VIM…' }).waitFor();
    await tab.page.goto(`${service.url}/ui/#/vims/${ids.charlie}`);
    await tab.page.getByRole('button', { name: 'Delete this VIM…' }).click();
    await tab.page.getByRole('button', { name: 'Delete charlie' }).click();
    await tab.page.locator('table.vims').waitFor();
    expect(new URL(tab.page.url()).hash).toBe('#/');
    await expect.poll(() => tab.page.locator('table.vims tbody tr th').allTextContents()).toEqual(['alpha', 'bravo']);
    expect((await service.api('GET', `/v1.0/vims/${ids.charlie}`)).status).toBe(404);

    await stale.page.getByRole('button', { name: 'Delete this VIM…' }).click();
    await stale.page.getByRole('button', { name: 'Delete charlie' }).click();
    await expect.poll(() => stale.page.locator('.danger-zone').getByRole('alert').textContent()).toMatch(/could not be found|not found/i);
    expect(tab.problems).toEqual([]);
    expect(stale.problems).toEqual([]);
  });
});
