import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryExecutor,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openstackInput } from '../../test/support/fixtures.js';
import { ADMIN, sqliteFile, startMonitoring, waitFor, type MonitoringHarness } from '../../test/support/monitoring.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { parseExposition, valueOf } from '../../test/support/promtool.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import { openStore } from '../store/database.js';
import { VimRepository } from '../store/vim-repository.js';

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
    const events = await harness.events.list({ vimIds: [vim.id], eventTypes: ['MONITOR'], limit: 10 });
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
    const events = await harness.events.list({ vimIds: [vim.id], eventTypes: ['MONITOR'], limit: 10 });
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

  it('replaces none while more monitors than failover_threshold are stuck at once (an overloaded process), and replaces them once few are', async () => {
    const probe = new ScriptedProbe('tcp');
    const harness = await startMonitoring({ probes: [probe], settings: { interval: 0.2, timeout: 0.1 }, sweepIntervalSeconds: 0.2, failoverThreshold: 2 });
    harnesses.push(harness);
    const vims = await Promise.all(['o1', 'o2', 'o3'].map((name) => harness.registry.create(ADMIN, input(name))));
    for (const vim of vims) await waitFor('REACHABLE', async () => (await statusOf(harness, vim.id)) === 'REACHABLE');
    probe.set('*', 'hang');
    await waitFor('the overload noticed', () => (harness.logText().includes('the process is overloaded; none replaced') ? true : undefined), 3_000);
    // Several sweeps later still none replaced.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(harness.manager.replacements).toBe(0);
    probe.set('*', 'ok');
    await harness.registry.delete(ADMIN, vims[0]!.id);
    await waitFor('both others replaced', () => (harness.manager.replacements >= 2 ? true : undefined), 3_000);
    expect(harness.logText()).toContain('back under manager.failover_threshold');
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
    expect((await harness.events.list({ vimIds: [vim.id], eventTypes: ['MONITOR'], limit: 10 })).map((e) => e.new_status)).toEqual(['REACHABLE']);
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

/** Every statement a store runs, compiled, in order: shows what heartbeats and sweeps cost in queries. */
class StatementLog implements KyselyPlugin {
  private statements: string[] = [];

  constructor(private readonly executor: QueryExecutor) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.statements.push(this.executor.compileQuery(args.node, args.queryId).sql);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }

  /** The statements since the last take. */
  take(): string[] {
    return this.statements.splice(0);
  }
}

const OWNER = 'counted-worker';
const REVISIONS_READ = 'select "id", "revision" from "vims"';

/** The shared harness on a store whose statements are logged, with the given timing. */
async function startCounted(
  url: string,
  probe: ScriptedProbe,
  timing: { leaseTtlSeconds: number; heartbeatIntervalSeconds: number; sweepIntervalSeconds: number },
  key?: Buffer,
): Promise<MonitoringHarness & { log: StatementLog }> {
  let log: StatementLog | undefined;
  const harness = await startMonitoring({
    databaseUrl: url,
    ...(key && { key }),
    probes: [probe],
    settings: fast,
    stallGraceSeconds: 5,
    owner: OWNER,
    ...timing,
    wrapStore: (raw) => {
      log = new StatementLog(raw.db.getExecutor());
      return { ...raw, db: raw.db.withPlugin(log) };
    },
  });
  if (!log) throw new Error('the harness did not wrap the store');
  return { ...harness, log };
}

describe('the monitor manager and its database costs', () => {
  const running: Array<{ stop(): Promise<void> }> = [];
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    for (const item of running.splice(0)) await item.stop().catch(() => undefined);
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function file(): string {
    const made = sqliteFile();
    cleanups.push(made.cleanup);
    return made.url;
  }

  it('runs on SQLite for longer than lease_ttl without renewing leases, and never re-claims or replaces its own monitors', async () => {
    const counted = await startCounted(file(), new ScriptedProbe('tcp'), { leaseTtlSeconds: 1, heartbeatIntervalSeconds: 0.25, sweepIntervalSeconds: 0.2 });
    running.push(counted);
    const vims = await Promise.all(['l1', 'l2', 'l3'].map((name) => counted.registry.create(ADMIN, input(name))));
    const ids = new Map(vims.map((vim) => [vim.id, counted.manager.monitorOf(vim.id)?.monitor_id]));
    // A row of its own it does not run (as after a delete whose row removal failed), leased far ahead: the fair
    // share then exceeds what it runs, so every sweep claims, and a claim of lapsed rows would take its own.
    await counted.store.db
      .insertInto('vim_monitors')
      .values({ vim_id: 'ghost-vim', monitor_id: 'ghost-monitor', owner: OWNER, dispatched_at: '2026-01-01 00:00:00.000000', lease_until_ms: Date.now() + 3_600_000 })
      .execute();
    counted.log.take();

    // Three lease_ttl, ~12 heartbeats and ~15 sweeps, among them a full one that counts the ghost row.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const statements = counted.log.take();

    expect(statements.filter((s) => s.startsWith('update "workers"')).length).toBeGreaterThanOrEqual(8);
    // No lease renewal over all rows, nor any other change of a monitor row: nothing was claimed or replaced.
    expect(statements.filter((s) => s.startsWith('update "vim_monitors"'))).toEqual([]);
    // The claim was tried, and could only take rows of other owners.
    expect(statements.some((s) => /^select "vim_id", "owner" from "vim_monitors" where "owner" != \?/.test(s))).toBe(true);
    for (const [vimId, monitorId] of ids) {
      expect(counted.manager.monitorOf(vimId)?.monitor_id).toBe(monitorId);
      expect((await counted.monitors.find(vimId))?.monitor_id).toBe(monitorId);
    }
    expect(counted.manager.stats()).toMatchObject({ takeovers: 0, replacements: 0, monitors: 3 });
  });

  it('on PostgreSQL stores its heartbeat before it claims, then renews by its worker row alone: no monitor row written, the rows it holds counted', async () => {
    const database = await createTestDatabase('postgres');
    try {
      const key = Buffer.alloc(32, 7);
      const first = await startMonitoring({ databaseUrl: database.url, key, probes: [new ScriptedProbe('tcp')], settings: fast });
      for (const name of ['p1', 'p2', 'p3']) await first.registry.create(ADMIN, input(name));
      await first.stop(); // hands its rows back: free
      const counted = await startCounted(database.url, new ScriptedProbe('tcp'), { leaseTtlSeconds: 2, heartbeatIntervalSeconds: 0.2, sweepIntervalSeconds: 0.2 }, key);
      try {
        const atStart = counted.log.take();
        const heartbeat = atStart.findIndex((s) => /^(insert into|update) "workers"/.test(s));
        const claim = atStart.findIndex((s) => s.startsWith('select "vim_id", "owner" from "vim_monitors"'));
        expect(heartbeat).toBeGreaterThanOrEqual(0);
        expect(claim).toBeGreaterThan(heartbeat);
        expect(counted.manager.list()).toHaveLength(3);
        const rows = () => counted.store.db.selectFrom('vim_monitors').selectAll().orderBy('vim_id').execute();
        const before = await rows();

        // Past lease_ttl (2 s): about 12 heartbeats.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        const statements = counted.log.take();
        expect(statements.filter((s) => s.startsWith('update "workers"')).length).toBeGreaterThanOrEqual(8);
        expect(statements.filter((s) => /^select count\(\*\) as "n" from "vim_monitors" where "owner" = \$1/.test(s)).length).toBeGreaterThanOrEqual(8);
        expect(statements.filter((s) => /^(update|insert into|delete from) "vim_monitors"/.test(s))).toEqual([]);
        expect(await rows()).toEqual(before);
        expect(counted.manager.stats()).toMatchObject({ monitors: 3, takeovers: 0, replacements: 0 });
      } finally {
        await counted.stop();
      }
    } finally {
      await database.drop();
    }
  });

  it('takes its monitors back at start when restarted on PostgreSQL under the same worker name after a kill, within lease_ttl', async () => {
    const database = await createTestDatabase('postgres');
    try {
      const key = Buffer.alloc(32, 8);
      const first = await startMonitoring({ databaseUrl: database.url, key, probes: [new ScriptedProbe('tcp')], settings: fast, leaseTtlSeconds: 60 });
      const a = await first.registry.create(ADMIN, input('k1'));
      const b = await first.registry.create(ADMIN, input('k2'));
      await first.stop();
      // As a SIGKILL leaves them: the rows still name this worker, whose heartbeat is fresh.
      const raw = openStore(database.url);
      await raw.db.updateTable('vim_monitors').set({ owner: 'test-worker' }).execute();
      await raw.db.insertInto('workers').values({ id: 'test-worker', started_at_ms: Date.now(), heartbeat_ms: Date.now(), serves_api: 0 }).execute();
      await raw.close();

      const second = await startMonitoring({ databaseUrl: database.url, key, probes: [new ScriptedProbe('tcp')], settings: fast, leaseTtlSeconds: 60 });
      try {
        expect(second.manager.list().map((m) => m.vim_id).sort()).toEqual([a.id, b.id].sort());
      } finally {
        await second.stop();
      }
    } finally {
      await database.drop();
    }
  });

  it('reads no VIM revisions, makes no monitor rows and counts none in a sweep after which no VIM changed, but does every 10th sweep', async () => {
    // Sweeps only when the test calls them.
    const counted = await startCounted(file(), new ScriptedProbe('tcp'), { leaseTtlSeconds: 60, heartbeatIntervalSeconds: 30, sweepIntervalSeconds: 3600 });
    running.push(counted);
    const vim = await counted.registry.create(ADMIN, input('quiet'));
    await counted.manager.sweep();
    expect(counted.log.take()).toContain(REVISIONS_READ);

    for (let sweep = 2; sweep <= 10; sweep++) await counted.manager.sweep();
    const quiet = counted.log.take();
    expect(quiet.filter((s) => s.includes('from "vim_change_counter"'))).toHaveLength(9);
    expect(quiet).not.toContain(REVISIONS_READ);
    expect(quiet.filter((s) => / not in \(select "vim_id" from "vim_monitors"\)/.test(s))).toEqual([]);
    expect(quiet.filter((s) => /count\(\*\)/.test(s))).toEqual([]);

    // The safety net: the 10th sweep after a full one reads everything anyway.
    await counted.manager.sweep();
    expect(counted.log.take()).toContain(REVISIONS_READ);

    // A change: the next sweep reads everything again.
    await counted.registry.update(ADMIN, vim.id, { description: 'changed' });
    counted.log.take();
    await counted.manager.sweep();
    expect(counted.log.take()).toContain(REVISIONS_READ);
  });

  it('follows a VIM updated through another process at its next sweep, even twice within one second', async () => {
    const url = file();
    const tcp = new ScriptedProbe('tcp');
    const api = new ScriptedProbe('api');
    const harness = await startMonitoring({ databaseUrl: url, probes: [tcp, api], settings: { ...fast, probes: ['tcp'] } });
    running.push(harness);
    const vim = await harness.registry.create(ADMIN, input('elsewhere'));
    // Another process's writes: straight to the database, so this manager hears of them only through its sweep.
    const other = openStore(url);
    running.push({ stop: () => other.close() });
    const elsewhere = new VimRepository(other);
    const sameSecond = '2026-03-03 03:03:03.000000';
    await elsewhere.update(vim.id, vim.tenantId, vim.name, { monitorSettings: { probes: ['api'] }, updatedAt: sameSecond });
    await waitFor('the sweep applies the first change', () => (harness.manager.monitorOf(vim.id)?.settings.probes.join() === 'api' ? true : undefined), 2_000);
    await waitFor('an api round', () => (api.callsFor(vim.id) >= 1 ? true : undefined));
    await elsewhere.update(vim.id, vim.tenantId, vim.name, { monitorSettings: { probes: ['tcp'] }, updatedAt: sameSecond });
    await waitFor('the sweep applies the second change', () => (harness.manager.monitorOf(vim.id)?.settings.probes.join() === 'tcp' ? true : undefined), 2_000);
  });

  it('takes every monitor back at start when restarted on SQLite under the same worker name after a kill', async () => {
    const url = file();
    const probe = new ScriptedProbe('tcp');
    const key = Buffer.alloc(32, 9);
    const first = await startMonitoring({ databaseUrl: url, key, probes: [probe], settings: fast });
    const a = await first.registry.create(ADMIN, input('k1'));
    const b = await first.registry.create(ADMIN, input('k2'));
    await first.stop();
    // As a SIGKILL leaves them: still owned by this worker name (the harness always uses one), leases not lapsed.
    const raw = openStore(url);
    await raw.db.updateTable('vim_monitors').set({ owner: 'test-worker', lease_until_ms: Date.now() + 3_600_000 }).execute();
    await raw.close();

    const second = await startMonitoring({ databaseUrl: url, key, probes: [probe], settings: fast });
    running.push(second);
    expect(second.manager.list().map((m) => m.vim_id).sort()).toEqual([a.id, b.id].sort());
  });
});

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

function logLines(harness: MonitoringHarness): LogLine[] {
  return harness
    .logText()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogLine);
}

async function backgroundErrors(metrics: PrometheusMetrics, task: string, kind: string): Promise<number | undefined> {
  return valueOf(parseExposition(await metrics.expose()), 'vim_monitor_background_errors_total', { task, kind });
}

/**
 * Stand-in for a bug: no input makes the sweep throw a TypeError on demand, so this plugin throws one where
 * the sweep reads the VIM change counter (every sweep does; the heartbeat never does).
 */
class SweepBug implements KyselyPlugin {
  armed = false;
  reads = 0;

  constructor(private readonly executor: QueryExecutor) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.executor.compileQuery(args.node, args.queryId).sql.includes('"vim_change_counter"')) {
      this.reads += 1;
      if (this.armed) throw new TypeError("Cannot read properties of undefined (reading 'changes')");
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

describe('the monitor manager\'s loops, when they fail', () => {
  const running: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    for (const item of running.splice(0)) await item.stop().catch(() => undefined);
  });

  it('logs a sweep that throws a TypeError at error level with the error, counts it, and keeps sweeping', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    let bug: SweepBug | undefined;
    const harness = await startMonitoring({
      probes: [new ScriptedProbe('tcp')],
      settings: fast,
      sweepIntervalSeconds: 0.1,
      metrics,
      wrapStore: (raw) => {
        bug = new SweepBug(raw.db.getExecutor());
        return { ...raw, db: raw.db.withPlugin(bug) };
      },
    });
    running.push(harness);
    if (!bug) throw new Error('the harness did not wrap the store');
    const sweepBug = bug;
    sweepBug.armed = true;
    await waitFor('three failed sweeps', async () => ((await backgroundErrors(metrics, 'sweep', 'unexpected')) ?? 0) >= 3);

    const failures = logLines(harness).filter((line) => line.msg === 'sweep failed unexpectedly');
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures[0]).toMatchObject({ level: 50, task: 'sweep', err: { type: 'TypeError', message: "Cannot read properties of undefined (reading 'changes')" } });
    expect(await backgroundErrors(metrics, 'sweep', 'outage')).toBe(0);

    // The loop is alive: once the bug is gone the sweeps go on.
    sweepBug.armed = false;
    const reads = sweepBug.reads;
    await waitFor('more sweeps', () => (sweepBug.reads >= reads + 3 ? true : undefined), 3_000);
  });

  describe.each(['postgres', 'mysql'] as const)('on %s, when the database goes away', (dialect) => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      const target = new URL(database.url);
      proxy = new TcpProxy(target.hostname, Number(target.port));
      await proxy.start();
    });
    afterAll(async () => {
      await proxy?.cut();
      await database?.drop();
    });

    it('warns once per outage and task, counts every failure, says the leases are at risk past lease_ttl, and says when it is back', async () => {
      const metrics = new PrometheusMetrics({ defaultMetrics: false });
      const url = new URL(database.url);
      url.port = String(proxy.port);
      const probe = new ScriptedProbe('tcp');
      const harness = await startMonitoring({
        databaseUrl: url.toString(),
        probes: [probe],
        settings: fast,
        leaseTtlSeconds: 1,
        heartbeatIntervalSeconds: 0.2,
        sweepIntervalSeconds: 0.2,
        stallGraceSeconds: 5,
        metrics,
      });
      running.push(harness);
      const vim = await harness.registry.create(ADMIN, input('outage'));
      await waitFor('REACHABLE', async () => ((await harness.registry.get(ADMIN, vim.id)).status === 'REACHABLE' ? true : undefined));

      await proxy.cut();
      probe.set(vim.id, 'fail'); // a status change to keep in memory meanwhile
      // Past lease_ttl (1 s) by a good margin: about ten heartbeats and ten sweeps fail.
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      const during = logLines(harness);
      await proxy.restore();
      await waitFor('the stored UNREACHABLE', async () => ((await harness.registry.get(ADMIN, vim.id)).status === 'UNREACHABLE' ? true : undefined), 10_000);
      await waitFor('the heartbeat back', () => (logLines(harness).some((line) => line.msg.startsWith('heartbeat: database available again')) ? true : undefined));
      await waitFor('the sweep back', () => (logLines(harness).some((line) => line.msg.startsWith('sweep: database available again')) ? true : undefined));

      const warnings = (lines: LogLine[], msg: string) => lines.filter((line) => line.msg === msg);
      // One warning per task for the whole outage, not one per attempt.
      expect(warnings(during, 'heartbeat failed: database unavailable')).toHaveLength(1);
      expect(warnings(during, 'sweep: database unavailable, monitors carry on in memory')).toHaveLength(1);
      expect(warnings(during, 'database unavailable: keeping monitor writes in memory')).toHaveLength(1);
      expect(warnings(during, 'heartbeat failed: database unavailable')[0]).toMatchObject({ level: 40, task: 'heartbeat' });
      const atRisk = during.filter((line) => line.msg.startsWith('leases at risk'));
      expect(atRisk).toHaveLength(1);
      expect(atRisk[0]).toMatchObject({ level: 50, owner: 'test-worker', lease_ttl_seconds: 1, monitors: 1 });
      expect(atRisk[0]?.failing_seconds).toBeGreaterThan(1);
      // Nothing but the outage went wrong.
      expect(during.filter((line) => line.level >= 50 && !line.msg.startsWith('leases at risk'))).toEqual([]);

      const after = logLines(harness);
      const back = after.find((line) => line.msg.startsWith('heartbeat: database available again'));
      expect(back).toMatchObject({ level: 40, task: 'heartbeat' });
      expect(back?.failed_attempts).toBeGreaterThanOrEqual(5);
      expect(after.some((line) => line.msg === 'heartbeat renewed the leases again')).toBe(true);
      expect(await backgroundErrors(metrics, 'heartbeat', 'outage')).toBe(back?.failed_attempts);
      expect(await backgroundErrors(metrics, 'sweep', 'outage')).toBeGreaterThanOrEqual(5);
      expect(await backgroundErrors(metrics, 'write_queue', 'outage')).toBeGreaterThanOrEqual(1);
      expect(await backgroundErrors(metrics, 'heartbeat', 'unexpected')).toBe(0);
    }, 30_000);
  });
});
