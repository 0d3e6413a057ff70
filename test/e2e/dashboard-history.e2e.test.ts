/**
 * The VIM page from real history: nothing seeded. The real service monitors
 * a real TCP target on loopback, the recorder writes what it sees (flushed
 * every second), the target goes down for a few rounds and comes back, and
 * the page in Chromium shows the same figures as the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration, formatMs, formatTime, formatUptime } from '../../ui/src/format.js';
import type { History, HistoryBucket, Uptime } from '../../ui/src/types.js';
import { browserTestsEnabled, DESKTOP, launchChromium, type TestBrowser } from '../support/browser.js';
import { buildDashboard } from '../support/dashboard-build.js';
import { waitFor } from '../support/monitoring.js';
import { startTestService, type TestService } from '../support/service.js';
import { TcpTarget } from '../support/tcp-target.js';

const monitor = { probes: ['tcp' as const], interval: 0.5, timeout: 0.45, failure_threshold: 2, success_threshold: 1 };

describe.skipIf(!browserTestsEnabled())('the VIM page from real history (nothing seeded)', () => {
  const target = new TcpTarget();
  let service: TestService;
  let chromium: TestBrowser;

  beforeAll(async () => {
    chromium = await launchChromium();
    await buildDashboard();
    await target.up();
    service = await startTestService({ monitoring: { monitor, manager: { sweep_interval: 0.5 } }, history: { flush_interval: 1 } });
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await service?.stop();
    await target.down();
  });

  const statusOf = async (id: string): Promise<string> => (await service.api('GET', `/v1.0/vims/${id}`)).json.vim.status as string;
  // Up to the service's now, as the page asks: an explicit `to` takes the open hour pro rata of what was stored after it.
  const hourly = async (id: string): Promise<History> => {
    const res = await service.api('GET', `/v1.0/vims/${id}/history?step=hour&from=${new Date(Date.now() - 86_400_000).toISOString()}`);
    expect(res.status, res.text).toBe(200);
    return res.json.history as History;
  };
  const uptime24h = async (id: string): Promise<Uptime> => {
    const res = await service.api('GET', `/v1.0/vims/${id}/uptime?window=24h`);
    expect(res.status, res.text).toBe(200);
    return res.json.uptime as Uptime;
  };
  const tcpChecks = (history: History): number => history.buckets.reduce((n, b) => n + (b.probes.tcp?.checks ?? 0), 0);
  const tcpFailed = (history: History): number => history.buckets.reduce((n, b) => n + (b.probes.tcp?.failed ?? 0), 0);
  const unreachable = (history: History): number => history.buckets.reduce((n, b) => n + b.unreachable_s, 0);

  it('draws the latency chart, the 24h uptime and the down period from what the recorder wrote', async () => {
    const body = { vim: { name: 'delta', type: 'openstack', auth_url: `http://127.0.0.1:${target.port}`, auth_cred: { username: 'u', password: 'p' }, vim_project: { name: 'p' } } };
    const created = await service.api('POST', '/v1.0/vims', { body });
    expect(created.status, created.text).toBe(201);
    const id = created.json.vim.id as string;
    await waitFor('delta REACHABLE', async () => ((await statusOf(id)) === 'REACHABLE' ? true : undefined), 10_000);
    // Some reachable rounds stored before the outage.
    await waitFor('stored successful checks', async () => (tcpChecks(await hourly(id)) >= 3 ? true : undefined), 10_000);

    await target.down();
    await waitFor('delta UNREACHABLE', async () => ((await statusOf(id)) === 'UNREACHABLE' ? true : undefined), 10_000);
    // A few rounds down, counted by the stored failed checks rather than by the clock.
    const failedAtDown = tcpFailed(await hourly(id));
    await waitFor('four more failed rounds stored', async () => (tcpFailed(await hourly(id)) >= failedAtDown + 4 ? true : undefined), 15_000);
    await target.up();
    await waitFor('delta REACHABLE again', async () => ((await statusOf(id)) === 'REACHABLE' ? true : undefined), 10_000);

    // The down period is over once rounds after the return are written: its unreachable time no longer grows.
    const checksAtReturn = tcpChecks(await hourly(id));
    await waitFor(
      'two reachable rounds and some unreachable time stored after the return',
      async () => {
        const history = await hourly(id);
        return tcpChecks(history) >= checksAtReturn + 2 && unreachable(history) > 0 ? true : undefined;
      },
      10_000,
    );
    const before = await uptime24h(id);
    expect(before.unreachable_s).toBeGreaterThan(0);
    expect(before.uptime).not.toBeNull();
    expect(before.uptime!).toBeLessThan(1);

    const tab = await chromium.open(DESKTOP);
    // The page's own reads of the API: its figures are then compared with exactly what it was given.
    const pageHourly = tab.page.waitForResponse((r) => r.url().includes(`/vims/${id}/history`) && r.url().includes('step=hour'));
    const pageUptime = tab.page.waitForResponse((r) => r.url().includes(`/vims/${id}/uptime`) && r.url().includes('window=24h'));
    await tab.page.goto(`${service.url}/ui/#/vims/${id}`);
    await tab.page.getByRole('heading', { level: 1, name: /delta/ }).waitFor();
    const shownHistory = ((await (await pageHourly).json()) as { history: History }).history;
    const shownUptime = ((await (await pageUptime).json()) as { uptime: Uptime }).uptime;
    const after = await uptime24h(id);

    // 24h uptime: the page shows the API's figure as it formats it, below 100 %; the VIM stayed up, so it lies between the two reads around the page's.
    const figure = tab.page.locator('.uptime-figures [data-window="24h"]');
    await expect.poll(() => figure.locator('strong').textContent()).toBe(formatUptime(shownUptime.uptime));
    expect(formatUptime(shownUptime.uptime)).toMatch(/^\d{1,2}\.\d\d %$/);
    expect(shownUptime.uptime!).toBeGreaterThanOrEqual(before.uptime!);
    expect(shownUptime.uptime!).toBeLessThanOrEqual(after.uptime!);
    // The down time is settled. The reader counts to now floored to the second, so a current hour written within
    // that second is taken pro rata (a little less than all of it): the reads agree to within that share.
    const downSeconds = [before, shownUptime, after].map((read) => read.unreachable_s);
    for (const seconds of downSeconds) expect(seconds, `${downSeconds.join(', ')}`).toBeGreaterThan(0.85 * Math.max(...downSeconds));
    expect(await figure.textContent()).toContain(`down ${formatDuration(shownUptime.unreachable_s)}`);

    // The chart: uPlot drew the tcp series on its canvas, from the stored hours.
    await tab.page.locator('.chart canvas').first().waitFor();
    expect(await tab.page.locator('.u-legend').textContent()).toContain('tcp p50');
    const current = shownHistory.buckets.filter((b) => b.probes.tcp && b.probes.tcp.checks > 0).at(-1) as HistoryBucket;
    expect(current, JSON.stringify(shownHistory)).toBeDefined();
    const tcp = current.probes.tcp!;
    expect(tcp.failed).toBeGreaterThanOrEqual(4);
    expect(tcp.latency_ms.p50).not.toBeNull();
    // The latency figures table lists the current hour with the p50 the API returned.
    await tab.page.getByText('Latency figures').click();
    const row = tab.page.locator('.chart-figure tbody tr', { has: tab.page.locator('th', { hasText: formatTime(current.start) }) });
    expect(await row.locator('td').textContent()).toBe(`${formatMs(tcp.latency_ms.p50)} / ${formatMs(tcp.latency_ms.p95)} / ${formatMs(tcp.latency_ms.max)} (${tcp.failed}/${tcp.checks} failed)`);
    // The same hour from an independent read: same start, at least as many checks, all its failures already in.
    const independent = (await hourly(id)).buckets.find((b) => b.start === current.start);
    expect(independent?.probes.tcp?.failed).toBe(tcp.failed);
    expect(independent!.probes.tcp!.checks).toBeGreaterThanOrEqual(tcp.checks);

    // The down period: today's uptime bar is not green, and the events timeline shows the VIM going UNREACHABLE and back.
    const today = new Date().toISOString().slice(0, 10);
    expect(await tab.page.locator(`.uptime-bars span[data-day="${today}"]`).getAttribute('class')).toMatch(/^(bad|warn)$/);
    await expect.poll(() => tab.page.locator('.timeline li').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/REACHABLE\s*→\s*UNREACHABLE/), expect.stringMatching(/UNREACHABLE\s*→\s*REACHABLE/)]),
    );

    await tab.screenshot('vim-real-history-1280');
    expect(tab.problems).toEqual([]);
    await tab.context.close();
  }, 40_000);
});
