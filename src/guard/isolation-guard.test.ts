/**
 * The isolation guard as the manager's verdict gate, with the real TCP probe
 * against real TCP services on loopback and a real SQLite store: a sudden
 * mass failure is held (no UNREACHABLE stored, one ISOLATION event), an
 * operator's acknowledgement lets it through, and verdicts wait for
 * recovery_grace once the network is back. Canaries isolate on their own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openstackInput } from '../../test/support/fixtures.js';
import { ADMIN, startMonitoring, waitFor, type MonitoringHarness } from '../../test/support/monitoring.js';
import { createTestDatabase } from '../../test/support/databases.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { TcpTarget } from '../../test/support/tcp-target.js';
import { toVimEvent } from '../events/wire.js';
import { TcpProbe } from '../probes/tcp.js';
import type { Probe, ProbeName } from '../probes/probe.js';
import { systemClock } from '../time/clock.js';
import { CanarySet, canaryOf } from './canaries.js';
import { IsolationEventLog } from './isolation-events.js';
import { IsolationGuard, type IsolationGuardOptions, type OutageSignal } from './isolation-guard.js';

const VIMS = 12;
const SETTINGS = { probes: ['tcp' as const], interval: 0.2, timeout: 0.1, failure_threshold: 3, success_threshold: 1 };

interface Setup {
  harness: MonitoringHarness;
  guard: IsolationGuard;
  targets: TcpTarget[];
  ids: string[];
}

describe('the isolation guard', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  async function setup(
    options: { canaries?: string[]; outages?: OutageSignal[] | ((harness: MonitoringHarness) => OutageSignal[]); guard?: Partial<IsolationGuardOptions>; vims?: number; databaseUrl?: string } = {},
  ): Promise<Setup> {
    const vims = options.vims ?? VIMS;
    const target = new TcpTarget();
    await target.up();
    cleanups.push(() => target.down());
    const tcp = new TcpProbe();
    const probes = new Map<ProbeName, Probe>([['tcp', tcp]]);
    // The harness makes the store and the manager; the guard's event log needs the store, so it is given a lazy one.
    let harness: MonitoringHarness | undefined;
    const events = { store: undefined as IsolationEventLog | undefined };
    const outages = typeof options.outages === 'function' ? options.outages : () => (options.outages as OutageSignal[] | undefined) ?? [];
    const guard = new IsolationGuard(
      {
        worker: 'guarded-worker',
        maxFailingShare: 0.3,
        minFailing: 5,
        windowMs: 400,
        recoveryGraceMs: 600,
        outageGraceMs: 600,
        tickMs: 50,
        canaryIntervalMs: 100,
        canaryTimeoutMs: 80,
        ...options.guard,
      },
      {
        canaries: new CanarySet((options.canaries ?? []).map(canaryOf), 2),
        probes,
        events: {
          record: (event) => events.store?.record(event),
          flush: () => events.store?.flush() ?? Promise.resolve(),
        },
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        outages: [{ name: 'any', down: () => harness !== undefined && outages(harness).some((signal) => signal.down()) }],
      },
    );
    harness = await startMonitoring({ probes: [tcp], settings: SETTINGS, gate: guard, ...(options.databaseUrl && { databaseUrl: options.databaseUrl }), heartbeatIntervalSeconds: 0.2, leaseTtlSeconds: 1 });
    events.store = new IsolationEventLog(harness.store, pino({ level: 'silent' }));
    cleanups.push(() => harness!.stop());
    guard.watch(harness.manager);
    await guard.start();
    cleanups.push(() => guard.stop());
    const ids: string[] = [];
    for (let i = 0; i < vims; i++) ids.push((await harness.registry.create(ADMIN, openstackInput(`vim-${i}`, { authUrl: `http://127.0.0.1:${target.port}` }))).id);
    await waitFor('all REACHABLE', async () => ((await harness!.registry.list(ADMIN, {})).every((v) => v.status === 'REACHABLE') ? true : undefined));
    // The guard takes its baseline only a window after the first rounds (start-up is no sudden rise).
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { harness, guard, targets: [target], ids };
  }

  async function stored(harness: MonitoringHarness): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const vim of await harness.registry.list(ADMIN, {})) counts[vim.status] = (counts[vim.status] ?? 0) + 1;
    return counts;
  }

  async function isolationEvents(harness: MonitoringHarness) {
    return (await harness.events.list({ eventTypes: ['ISOLATION'], limit: 100 })).map(toVimEvent);
  }

  it('holds the down verdicts of a sudden mass failure, stores one ISOLATION event, and applies verdicts only after recovery_grace', async () => {
    const { harness, guard, targets, ids } = await setup();
    await targets[0]!.down();
    await waitFor('isolated', () => (guard.isolated() ? true : undefined), 3_000);
    // Far past failure_threshold × interval (0.6 s): every VIM would be UNREACHABLE without the guard.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await stored(harness)).toEqual({ REACHABLE: VIMS });
    const monitor = harness.manager.monitorOf(ids[0]!)!;
    expect(monitor.consecutive_failures).toBeGreaterThanOrEqual(5);
    expect(monitor.held?.reason).toMatch(/^worker isolated \(too many VIMs failed at once\)/);
    expect(guard.state()).toMatchObject({ state: 'isolated', holding: true, cause: 'failing_share', failing: VIMS, recent: VIMS, share: 1 });

    const events = await isolationEvents(harness);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'isolation', tenantId: '', isolation: { worker: 'guarded-worker', oldState: 'NORMAL', newState: 'ISOLATED', cause: 'failing_share' } });
    // Said at the moment it tripped: some of the VIMs had had their failing round by then.
    expect(events[0]!.reason).toMatch(/^\d+ of 12 VIMs \(\d+ %\) failed within one window, above guard.max_failing_share 0.3$/);
    expect(await harness.events.list({ eventTypes: ['MONITOR'], statuses: ['UNREACHABLE'], limit: 100 })).toHaveLength(0);

    // The network comes back: the share drops, the guard recovers, and goes back to normal after the grace.
    await targets[0]!.up();
    await waitFor('recovering', () => (guard.state().state === 'recovering' ? true : undefined), 3_000);
    expect(guard.holding()).toBe(true);
    await waitFor('normal', () => (guard.state().state === 'normal' ? true : undefined), 3_000);
    expect(await stored(harness)).toEqual({ REACHABLE: VIMS });
    const after = await isolationEvents(harness);
    expect(after.map((e) => `${e.isolation?.oldState}->${e.isolation?.newState}`)).toEqual(['NORMAL->ISOLATED', 'ISOLATED->NORMAL']);

    // Normal again: one VIM that fails alone turns UNREACHABLE as always.
    const alone = await harness.registry.create(ADMIN, openstackInput('alone', { authUrl: 'http://127.0.0.1:1' }));
    await waitFor('a lone failure applies', async () => ((await harness.registry.get(ADMIN, alone.id)).status === 'UNREACHABLE' ? true : undefined), 3_000);
    expect(guard.state().state).toBe('normal');
  }, 20_000);

  it('lets verdicts through once an operator acknowledges the isolation (a genuine mass outage), and ends the acknowledgement with the episode', async () => {
    const { harness, guard, targets } = await setup();
    expect(guard.acknowledge(true)).toBe(false);
    await targets[0]!.down();
    await waitFor('isolated', () => (guard.isolated() ? true : undefined), 3_000);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await stored(harness)).toEqual({ REACHABLE: VIMS });

    expect(guard.acknowledge(true)).toBe(true);
    expect(guard.isolated()).toBe(false);
    expect(guard.state()).toMatchObject({ state: 'isolated', acknowledged: true, holding: false });
    await waitFor('all UNREACHABLE', async () => ((await stored(harness)).UNREACHABLE === VIMS ? true : undefined), 3_000);
    const [event] = await harness.events.list({ eventTypes: ['MONITOR'], statuses: ['UNREACHABLE'], limit: 1 });
    expect(event?.reason).toContain('(worker isolation acknowledged by an operator)');

    await targets[0]!.up();
    await waitFor('normal', () => (guard.state().state === 'normal' ? true : undefined), 5_000);
    expect(guard.state().acknowledged).toBe(false);
  }, 20_000);

  it('isolates when every canary fails, even with few VIMs failing, and holds their verdicts until the canaries answer', async () => {
    const canary = new TcpTarget();
    await canary.up();
    cleanups.push(() => canary.down());
    const { harness, guard, targets } = await setup({ canaries: [`127.0.0.1:${canary.port}`], vims: 3 });
    expect(guard.state().canaries).toEqual([{ canary: `127.0.0.1:${canary.port}`, probe: 'tcp', ok: true, reason: expect.any(String), consecutive_failures: 0 }]);
    await canary.down();
    await waitFor('isolated by canaries', () => (guard.isolated() ? true : undefined), 3_000);
    expect(guard.state().cause).toBe('canaries');
    await targets[0]!.down();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // 3 VIMs failing is under min_failing: only the canaries hold them.
    expect(await stored(harness)).toEqual({ REACHABLE: 3 });
    await canary.up();
    await waitFor('UNREACHABLE after recovery_grace', async () => ((await stored(harness)).UNREACHABLE === 3 ? true : undefined), 5_000);
    expect((await isolationEvents(harness)).map((e) => e.isolation?.cause)).toEqual(['canaries', null]);
  }, 20_000);

  it('applies the verdicts of a few failing VIMs at once: neither the share nor the minimum count is reached', async () => {
    const { harness, guard } = await setup({ vims: 8 });
    const second = new TcpTarget();
    await second.up();
    cleanups.push(() => second.down());
    for (let i = 0; i < 4; i++) await harness.registry.create(ADMIN, openstackInput(`second-${i}`, { authUrl: `http://127.0.0.1:${second.port}` }));
    await waitFor('twelve REACHABLE', async () => ((await stored(harness)).REACHABLE === 12 ? true : undefined));
    // Four of twelve (33 %) fail: above the share, below min_failing (5).
    await second.down();
    await waitFor('four UNREACHABLE', async () => ((await stored(harness)).UNREACHABLE === 4 ? true : undefined), 3_000);
    expect(guard.state().state).toBe('normal');
    expect(await isolationEvents(harness)).toHaveLength(0);
  }, 20_000);

  it('holds down verdicts for outage_grace after a database or broker outage ends', async () => {
    let down = false;
    const { harness, guard, targets } = await setup({ outages: [{ name: 'database', down: () => down }], guard: { outageGraceMs: 1_500 }, vims: 2 });
    down = true;
    await waitFor('the outage seen', () => (guard.state().outages.length === 1 ? true : undefined));
    expect(guard.state().state).toBe('normal');
    down = false;
    await waitFor('outage_grace', () => (guard.state().state === 'outage_grace' ? true : undefined));
    await targets[0]!.down();
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(await stored(harness)).toEqual({ REACHABLE: 2 });
    expect(harness.manager.monitorOf((await harness.registry.list(ADMIN, {}))[0]!.id)?.held?.reason).toMatch(/outage_grace/);
    await waitFor('UNREACHABLE after the grace', async () => ((await stored(harness)).UNREACHABLE === 2 ? true : undefined), 3_000);
  }, 20_000);

  it('sees a real PostgreSQL outage through the manager (heartbeats fail) and holds down verdicts for outage_grace after it', async () => {
    const database = await createTestDatabase('postgres');
    cleanups.push(() => database.drop());
    const relay = new TcpProxy('127.0.0.1', 5432);
    await relay.start();
    cleanups.push(() => relay.cut());
    const url = new URL(database.url);
    url.port = String(relay.port);
    const { harness, guard, targets } = await setup({
      databaseUrl: url.toString(),
      outages: (h) => [{ name: 'database', down: () => h.manager.storeOutage() }],
      guard: { outageGraceMs: 2_000 },
      vims: 2,
    });
    await relay.cut();
    await waitFor('the manager sees the outage', () => (harness.manager.storeOutage() ? true : undefined), 5_000);
    expect(guard.state().state).toBe('normal');
    await relay.restore();
    await waitFor('outage_grace once the database answers', () => (guard.state().state === 'outage_grace' ? true : undefined), 5_000);
    await targets[0]!.down();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await stored(harness)).toEqual({ REACHABLE: 2 });
    await waitFor('UNREACHABLE after the grace', async () => ((await stored(harness)).UNREACHABLE === 2 ? true : undefined), 5_000);
  }, 30_000);
});
