import { afterEach, describe, expect, it } from 'vitest';
import { openstackInput } from '../../test/support/fixtures.js';
import { ADMIN, sqliteFile, startMonitoring, waitFor, type MonitoringHarness } from '../../test/support/monitoring.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import { openStore } from '../store/database.js';

const input = openstackInput;

const fast = { interval: 0.2, timeout: 0.1, failure_threshold: 2, success_threshold: 2 };

describe('the monitor manager', () => {
  const harnesses: MonitoringHarness[] = [];
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    for (const harness of harnesses.splice(0)) await harness.stop().catch(() => undefined);
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function start(probe: ScriptedProbe, extra: Partial<Parameters<typeof startMonitoring>[0]> = {}) {
    const harness = await startMonitoring({ probes: [probe], settings: fast, ...extra });
    harnesses.push(harness);
    return harness;
  }

  async function statusOf(harness: MonitoringHarness, id: string) {
    return (await harness.registry.get(ADMIN, id)).status;
  }

  it('registers a monitor with a new id when a VIM is created and gives a first verdict within one interval', async () => {
    const harness = await start(new ScriptedProbe('tcp'));
    const created = Date.now();
    const vim = await harness.registry.create(ADMIN, input('a'));
    const row = await harness.monitors.find(vim.id);
    expect(row?.monitor_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row?.owner).toBe('test-worker');
    await waitFor('REACHABLE', async () => (await statusOf(harness, vim.id)) === 'REACHABLE', 2_000);
    expect(Date.now() - created).toBeLessThan(200 + 100 + 150);
    const events = await harness.events.list({ vimIds: [vim.id], limit: 10 });
    expect(events.map((e) => [e.old_status, e.new_status, e.monitor_id])).toEqual([['PENDING', 'REACHABLE', row?.monitor_id]]);
    expect(harness.manager.monitorOf(vim.id)?.probes.tcp).toMatchObject({ ok: true, reason: 'tcp ok' });
  });

  it('follows a target down and up with the thresholds, writing one event per change with the reason', async () => {
    const probe = new ScriptedProbe('tcp');
    const harness = await start(probe);
    const vim = await harness.registry.create(ADMIN, input('b'));
    await waitFor('REACHABLE', async () => (await statusOf(harness, vim.id)) === 'REACHABLE');
    probe.set(vim.id, 'fail');
    await waitFor('UNREACHABLE', async () => (await statusOf(harness, vim.id)) === 'UNREACHABLE');
    probe.set(vim.id, 'ok');
    await waitFor('REACHABLE again', async () => (await statusOf(harness, vim.id)) === 'REACHABLE');
    const events = await harness.events.list({ vimIds: [vim.id], limit: 10 });
    expect(events.map((e) => e.new_status)).toEqual(['REACHABLE', 'UNREACHABLE', 'REACHABLE']);
    expect(events[1]?.reason).toBe('failed: tcp: tcp scripted failure');
    expect(JSON.parse(events[1]?.detail ?? '{}').probes.tcp).toMatchObject({ ok: false, consecutive_failures: 2 });
  });

  it.each([
    ['a probe never returns', 'hang'],
    ['the monitor loop throws', 'throw'],
  ] as const)('replaces a monitor that stops processing because %s, so the VIM stays watched', async (_why, script) => {
    const probe = new ScriptedProbe('tcp');
    const harness = await start(probe);
    const vim = await harness.registry.create(ADMIN, input('c'));
    await waitFor('REACHABLE', async () => (await statusOf(harness, vim.id)) === 'REACHABLE');
    const firstId = harness.manager.monitorOf(vim.id)?.monitor_id;
    const brokenFrom = Date.now();
    probe.set(vim.id, script);
    const broken = await waitFor('the broken round', () => probe.calls.find((c) => c.vimId === vim.id && c.at >= brokenFrom)?.at, 1_000);
    await waitFor('a replacement', () => (harness.manager.monitorOf(vim.id)?.monitor_id !== firstId ? true : undefined), 3_000);
    probe.set(vim.id, 'ok');
    // Unwatched at most: the round's deadline + stall grace + one sweep interval (0.1 + 0.2 + 0.2 s here), plus scheduling slack.
    const resumed = await waitFor('the first round of the fresh monitor', () => probe.calls.find((c) => c.vimId === vim.id && c.at > broken)?.at);
    expect(resumed - broken).toBeLessThanOrEqual(500 + 250);
    // The fresh monitor really runs rounds, and the monitor row names it.
    const fresh = harness.manager.monitorOf(vim.id);
    const calls = probe.callsFor(vim.id);
    await waitFor('rounds of the fresh monitor', () => (probe.callsFor(vim.id) >= calls + 2 ? true : undefined));
    await waitFor('the row names the fresh monitor', async () => {
      const current = harness.manager.monitorOf(vim.id)?.monitor_id;
      return (await harness.monitors.find(vim.id))?.monitor_id === current ? true : undefined;
    });
    expect(harness.manager.replacements).toBeGreaterThanOrEqual(1);
    expect(fresh?.status).toBe('REACHABLE'); // carried over, not back to PENDING
    expect((await harness.monitors.find(vim.id))?.replacements).toBeGreaterThanOrEqual(1);
    expect(harness.logText()).toContain('monitor not processing: forcibly deleted and replaced');
  });

  it('stops the monitor before a delete returns: no probe of a deleted VIM afterwards', async () => {
    const probe = new ScriptedProbe('tcp');
    const harness = await start(probe);
    const vim = await harness.registry.create(ADMIN, input('d'));
    await waitFor('two rounds', () => (probe.callsFor(vim.id) >= 2 ? true : undefined));
    await harness.registry.delete(ADMIN, vim.id);
    const after = probe.callsFor(vim.id);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(probe.callsFor(vim.id)).toBe(after);
    expect(harness.manager.monitorOf(vim.id)).toBeUndefined();
    expect(await harness.monitors.find(vim.id)).toBeUndefined();
    expect(probe.forgotten).toContain(vim.id);
  });

  it('applies new monitor settings from the next round without a restart', async () => {
    const tcp = new ScriptedProbe('tcp');
    const api = new ScriptedProbe('api');
    const harness = await startMonitoring({ probes: [tcp, api], settings: { ...fast, probes: ['tcp'] } });
    harnesses.push(harness);
    const vim = await harness.registry.create(ADMIN, input('e'));
    await waitFor('a tcp round', () => (tcp.callsFor(vim.id) >= 1 ? true : undefined));
    const monitorId = harness.manager.monitorOf(vim.id)?.monitor_id;
    expect(api.callsFor(vim.id)).toBe(0);
    await harness.registry.update(ADMIN, vim.id, { monitorSettings: { probes: ['api'] } });
    await waitFor('an api round', () => (api.callsFor(vim.id) >= 1 ? true : undefined));
    expect(harness.manager.monitorOf(vim.id)?.monitor_id).toBe(monitorId);
    expect(harness.manager.monitorOf(vim.id)?.settings.probes).toEqual(['api']);
    // Tokens and connections cached under the old settings are dropped.
    expect(api.forgotten).toContain(vim.id);
  });

  it('never flips on one lost round between good ones', async () => {
    const probe = new ScriptedProbe('tcp');
    const harness = await start(probe, { settings: { ...fast, failure_threshold: 2 } });
    const vim = await harness.registry.create(ADMIN, input('f'));
    await waitFor('REACHABLE', async () => (await statusOf(harness, vim.id)) === 'REACHABLE');
    for (let flap = 0; flap < 3; flap++) {
      const calls = probe.callsFor(vim.id);
      probe.set(vim.id, 'fail');
      await waitFor('one failed round', () => (probe.callsFor(vim.id) > calls ? true : undefined));
      probe.set(vim.id, 'ok');
      await waitFor('one good round', () => (probe.callsFor(vim.id) > calls + 1 ? true : undefined));
    }
    expect((await harness.events.list({ vimIds: [vim.id], limit: 10 })).map((e) => e.new_status)).toEqual(['REACHABLE']);
  });

  it('refuses a status write from a monitor that was replaced (fencing)', async () => {
    const harness = await start(new ScriptedProbe('tcp'));
    const vim = await harness.registry.create(ADMIN, input('g'));
    await waitFor('REACHABLE', async () => (await statusOf(harness, vim.id)) === 'REACHABLE');
    const outcome = await harness.monitors.recordStatusChange({
      vimId: vim.id,
      vimName: vim.name,
      tenantId: vim.tenantId,
      monitorId: '00000000-0000-4000-8000-000000000000',
      oldStatus: 'REACHABLE',
      newStatus: 'UNREACHABLE',
      reason: 'stale verdict',
      probes: {},
      at: '2026-01-01 00:00:00.000000',
    });
    expect(outcome).toBe('fenced');
    expect(await statusOf(harness, vim.id)).toBe('REACHABLE');
    expect((await harness.events.list({ vimIds: [vim.id], limit: 10 })).map((e) => e.reason)).not.toContain('stale verdict');
  });

  it('restores every monitor on start, removes orphans and carries statuses on without new events', async () => {
    const file = sqliteFile();
    cleanups.push(file.cleanup);
    const key = Buffer.alloc(32, 7);
    const probe = new ScriptedProbe('tcp');
    const first = await startMonitoring({ databaseUrl: file.url, key, probes: [probe], settings: fast });
    const a = await first.registry.create(ADMIN, input('r1'));
    const b = await first.registry.create(ADMIN, input('r2'));
    probe.set(b.id, 'fail');
    await waitFor('verdicts', async () =>
      (await statusOf(first, a.id)) === 'REACHABLE' && (await statusOf(first, b.id)) === 'UNREACHABLE' ? true : undefined,
    );
    const before = await first.events.list({ limit: 100 });
    const oldIds = [first.manager.monitorOf(a.id)?.monitor_id, first.manager.monitorOf(b.id)?.monitor_id];
    await first.stop();
    // A monitor row left behind by a VIM deleted while no manager ran.
    const raw = openStore(file.url);
    await raw.db
      .insertInto('vim_monitors')
      .values({ vim_id: 'ghost-vim', monitor_id: 'ghost-monitor', owner: 'gone-worker', dispatched_at: '2026-01-01 00:00:00.000000' })
      .execute();
    await raw.close();

    const second = await startMonitoring({ databaseUrl: file.url, key, probes: [probe], settings: fast });
    harnesses.push(second);
    expect(second.manager.list().map((m) => m.vim_id).sort()).toEqual([a.id, b.id].sort());
    expect(second.manager.monitorOf(a.id)?.status).toBe('REACHABLE');
    expect(second.manager.monitorOf(b.id)?.status).toBe('UNREACHABLE');
    expect(oldIds).not.toContain(second.manager.monitorOf(a.id)?.monitor_id);
    expect((await second.monitors.list()).map((row) => row.vim_id).sort()).toEqual([a.id, b.id].sort());
    const calls = probe.callsFor(a.id);
    await waitFor('rounds after restart', () => (probe.callsFor(a.id) >= calls + 3 ? true : undefined));
    expect(await second.events.list({ limit: 100 })).toEqual(before);
  });
});
