/**
 * Three real `vim-monitor serve` processes share one PostgreSQL or MariaDB
 * database. They split the monitors evenly through leases and row locks;
 * one is killed with SIGKILL and the others take its monitors over within
 * lease_ttl + sweep_interval; one is paused (SIGSTOP) past its leases and,
 * woken up, cannot write a stale verdict. Real TCP targets on loopback.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServeProcess, type ClusterProcess } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { waitFor } from '../support/monitoring.js';
import { TcpTarget } from '../support/tcp-target.js';

const LEASE_TTL = 3;
const SWEEP = 1;
const INTERVAL = 1;
const VIMS = 30;

interface MonitorView {
  vim_id: string;
  owner: string;
  state: string;
  last_round_at: string | null;
  monitor_id: string;
}

describe.each(['postgres', 'mysql'] as const)('three workers on %s', (dialect) => {
  let database: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-cluster-'));
  const processes: ClusterProcess[] = [];
  const live = new TcpTarget();
  const flaky = new TcpTarget();
  let env: Record<string, string>;
  const ids: string[] = [];
  const flakyIds: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    await live.up();
    await flaky.up();
    env = {
      VIM_MONITOR_DATABASE_URL: database.url,
      VIM_MONITOR_SECRETS_KEY: randomBytes(32).toString('base64'),
      VIM_MONITOR_MONITOR_PROBES: 'tcp',
      VIM_MONITOR_MONITOR_INTERVAL: String(INTERVAL),
      VIM_MONITOR_MONITOR_TIMEOUT: '0.5',
      VIM_MONITOR_MONITOR_FAILURE_THRESHOLD: '2',
      VIM_MONITOR_MONITOR_SUCCESS_THRESHOLD: '2',
      VIM_MONITOR_MONITOR_BATCH_WINDOW: '0',
      VIM_MONITOR_MANAGER_LEASE_TTL: String(LEASE_TTL),
      VIM_MONITOR_MANAGER_HEARTBEAT_INTERVAL: '1',
      VIM_MONITOR_MANAGER_SWEEP_INTERVAL: String(SWEEP),
    };
    for (const name of ['w1', 'w2', 'w3']) processes.push(await startServeProcess(name, env, dir));
    for (let i = 0; i < VIMS; i++) {
      const port = i % 6 === 0 ? flaky.port : live.port;
      const created = await processes[i % 3]!.post('/v1.0/vims', {
        vim: { name: `vim-${i}`, type: 'openstack', auth_url: `http://127.0.0.1:${port}`, auth_cred: { username: 'u', password: 'p' }, vim_project: { name: 'p' } },
      });
      expect(created.vim, JSON.stringify(created)).toBeDefined();
      ids.push(created.vim.id);
      if (port === flaky.port) flakyIds.push(created.vim.id);
    }
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await live.down();
    await flaky.down();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Monitors each running (not killed, not paused) process runs itself, not the 'remote' rows it only reads. */
  async function localMonitors(skip: ClusterProcess[] = []): Promise<Map<string, MonitorView[]>> {
    const views = new Map<string, MonitorView[]>();
    for (const p of processes.filter((q) => q.child.exitCode === null && q.child.signalCode === null && !skip.includes(q))) {
      const monitors = ((await p.get('/v1.0/monitors')).monitors as MonitorView[]).filter((m) => m.state !== 'remote');
      views.set(p.name, monitors);
    }
    return views;
  }

  function assertNoDoubleOwnership(views: Map<string, MonitorView[]>): void {
    const seen = new Map<string, string>();
    for (const [name, monitors] of views) {
      for (const monitor of monitors) {
        expect(seen.get(monitor.vim_id), `VIM ${monitor.vim_id} run by ${seen.get(monitor.vim_id)} and ${name}`).toBeUndefined();
        seen.set(monitor.vim_id, name);
      }
    }
  }

  async function statuses(): Promise<Record<string, string>> {
    const vims = (await processes[0]!.get('/v1.0/vims?fields=id&fields=status')).vims as Array<{ id: string; status: string }>;
    return Object.fromEntries(vims.map((v) => [v.id, v.status]));
  }

  it('split the monitors evenly, each VIM on exactly one worker', async () => {
    const views = await waitFor('an even split', async () => {
      const current = await localMonitors();
      const counts = [...current.values()].map((m) => m.length);
      const total = counts.reduce((a, b) => a + b, 0);
      return total === VIMS && Math.max(...counts) / Math.min(...counts) <= 1.25 ? current : undefined;
    }, 20_000);
    assertNoDoubleOwnership(views);
    await waitFor('first verdicts', async () => {
      const s = await statuses();
      return ids.every((id) => s[id] === 'REACHABLE') ? true : undefined;
    }, 10_000);
  });

  it('take over the monitors of a worker killed with SIGKILL within lease_ttl + sweep_interval, without double ownership', async () => {
    const victim = processes[2]!;
    const victimVims = ((await localMonitors()).get(victim.name) ?? []).map((m) => m.vim_id);
    expect(victimVims.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await new Promise((resolve) => victim.child.once('exit', resolve));

    let worstGap = 0;
    const views = await waitFor('takeover', async () => {
      const current = await localMonitors();
      assertNoDoubleOwnership(current);
      const running = new Map([...current.values()].flat().map((m) => [m.vim_id, m]));
      const done = victimVims.every((id) => running.get(id)?.last_round_at);
      return done && running.size === VIMS ? current : undefined;
    }, (LEASE_TTL + SWEEP) * 1000 + 10_000);
    const takeover = Date.now() - killedAt;
    worstGap = takeover;
    console.log(`${dialect}: ${victimVims.length} monitors of the killed worker re-verdicted after ${takeover} ms (bound ${(LEASE_TTL + SWEEP + INTERVAL) * 1000} ms + polling)`);
    expect(worstGap).toBeLessThanOrEqual((LEASE_TTL + SWEEP + INTERVAL) * 1000 + 1_500);
    const counts = [...views.values()].map((m) => m.length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(VIMS);
  }, 30_000);

  it('refuse the verdicts of a paused worker once its monitors were taken over (fencing), and lose or duplicate no event', async () => {
    const paused = processes[1]!;
    const pausedVims = ((await localMonitors()).get(paused.name) ?? []).map((m) => m.vim_id);
    expect(pausedVims.length).toBeGreaterThan(0);
    paused.child.kill('SIGSTOP');
    const pausedAt = paused.output().length;
    try {
      // Past its leases: the survivor takes everything over.
      await waitFor('the survivor runs every monitor', async () => {
        const views = await localMonitors([paused]).catch(() => undefined);
        return views?.get(processes[0]!.name)?.length === VIMS ? true : undefined;
      }, (LEASE_TTL + SWEEP) * 1000 + 10_000);
      // Meanwhile the flaky target goes down: the survivor decides UNREACHABLE.
      await flaky.down();
      await waitFor('UNREACHABLE', async () => {
        const s = await processes[0]!.get('/v1.0/vims?fields=id&fields=status');
        const map = Object.fromEntries((s.vims as Array<{ id: string; status: string }>).map((v) => [v.id, v.status]));
        return flakyIds.every((id) => map[id] === 'UNREACHABLE') ? true : undefined;
      }, 10_000);
    } finally {
      paused.child.kill('SIGCONT');
    }
    // The woken worker notices its lost leases at its next heartbeat and stops those monitors; no verdict of it is stored.
    await waitFor('the woken worker notices', () => (paused.output().slice(pausedAt).includes('lease lost to another worker') ? true : undefined), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(paused.output().slice(pausedAt)).not.toContain('"msg":"VIM status changed"');
    const final = await statuses();
    for (const id of flakyIds) expect(final[id]).toBe('UNREACHABLE');
    assertNoDoubleOwnership(await localMonitors());

    const events = (await processes[0]!.get('/v1.0/events?limit=1000&event_type=MONITOR')).events as Array<{ resource_id: string; event_details: { old_status: string; new_status: string } }>;
    for (const id of ids) {
      const chain = events.filter((e) => e.resource_id === id).map((e) => `${e.event_details.old_status}->${e.event_details.new_status}`);
      const expected = flakyIds.includes(id) ? ['PENDING->REACHABLE', 'REACHABLE->UNREACHABLE'] : ['PENDING->REACHABLE'];
      expect(chain, id).toEqual(expected);
    }
  }, 60_000);

  it('give a joining worker its share by graceful hand-off, not by letting leases lapse', async () => {
    const joinedAt = Date.now();
    processes.push(await startServeProcess('w4', env, dir));
    const views = await waitFor('a balanced split with the new worker', async () => {
      const current = await localMonitors();
      const counts = [...current.values()].map((m) => m.length);
      const total = counts.reduce((a, b) => a + b, 0);
      return current.size === 3 && total === VIMS && Math.max(...counts) / Math.min(...counts) <= 1.25 ? current : undefined;
    }, 20_000);
    assertNoDoubleOwnership(views);
    expect(views.get('w4')?.length).toBeGreaterThanOrEqual(9);
    expect(processes.some((p) => p.output().includes('handed monitors back for rebalancing'))).toBe(true);
    console.log(`${dialect}: joining worker balanced in ${Date.now() - joinedAt} ms:`, Object.fromEntries([...views].map(([n, m]) => [n, m.length])));
  }, 30_000);
});
