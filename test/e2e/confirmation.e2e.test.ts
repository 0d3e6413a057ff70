/**
 * Confirmation from other vantage points with real parts: three real
 * `vim-monitor serve` processes on PostgreSQL, w1 (zone a) in a network
 * namespace of its own (test/support/vantage-net.ts), w2 (zone b) and w3
 * (zone c) on the host; real TCP targets, real tcp probes. One target is cut
 * from w1's namespace only: the VIMs w1 owns on it are down from w1 and up
 * from everywhere else. Another target really goes down for everyone.
 *
 * With confirmation on, w1's VIMs on the cut target stay REACHABLE, held with
 * the reason; the really-down VIMs turn UNREACHABLE within the documented
 * bound, the event naming the confirmers. With confirmation off (the same
 * cluster, `confirm.enabled: false`) the cut makes w1 report its VIMs
 * UNREACHABLE: the false alarm this feature removes. Detection latency is
 * measured both ways and printed (docs/confirmation.md quotes it).
 *
 * VIM_MONITOR_TEST_CONFIRM_VIMS scales the run (default 12 VIMs on the cut
 * target and half as many on the one that goes down) for the figures at
 * scale in docs/confirmation.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServeProcess, type ClusterProcess } from '../support/cluster.js';
import { createTestDatabase, POSTGRES_ADMIN_URL, type TestDatabase } from '../support/databases.js';
import { waitFor } from '../support/monitoring.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { TcpTarget } from '../support/tcp-target.js';
import { startVantageNet, type VantageNet } from '../support/vantage-net.js';

const INTERVAL = 1;
const TIMEOUT = 0.5;
const FAILURE_THRESHOLD = 2;
/** max(2 × timeout, 3 s): the default. */
const DEADLINE = 3;
const PARTIAL_VIMS = 2 * Math.round(Number(process.env.VIM_MONITOR_TEST_CONFIRM_VIMS ?? 12) / 2);
const DOWN_VIMS = Math.floor(PARTIAL_VIMS / 2);
/** Longer waits for a scaled run (thousands of VIMs to create). */
const SCALE = Math.max(1, PARTIAL_VIMS / 100);
/** interval × failure_threshold + timeout: the detection bound of one worker. */
const BOUND_ALONE_MS = (INTERVAL * FAILURE_THRESHOLD + TIMEOUT) * 1000;
/** Plus at most the deadline and one round (the round after the answers, or after the deadline, decides). */
const BOUND_CONFIRMED_MS = BOUND_ALONE_MS + (DEADLINE + INTERVAL) * 1000;
/** The status is read every 50 ms through the API, after the owner's write queue stored it. */
const OBSERVATION_SLACK_MS = 500;

interface MonitorView {
  vim_id: string;
  owner: string;
  state: string;
  status?: string;
  consecutive_failures?: number;
  held?: { reason: string; since: string } | null;
}

describe.each([
  { confirm: true, title: 'with confirmation' },
  { confirm: false, title: 'without confirmation (the control)' },
])('three workers on PostgreSQL, one in a namespace of its own, $title', ({ confirm }) => {
  let database: TestDatabase;
  let net: VantageNet;
  let relay: TcpProxy;
  let partial: TcpTarget;
  let down: TcpTarget;
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-confirm-'));
  const processes: ClusterProcess[] = [];
  const partialIds: string[] = [];
  const downIds: string[] = [];
  let w1: ClusterProcess;
  let w2: ClusterProcess;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    net = startVantageNet();
    const admin = new URL(POSTGRES_ADMIN_URL);
    relay = new TcpProxy(admin.hostname, Number(admin.port || 5432), net.hostAddress);
    await relay.start();
    partial = new TcpTarget(net.targetAddress);
    await partial.up();
    down = new TcpTarget(net.hostAddress);
    await down.up();
    const env = {
      VIM_MONITOR_DATABASE_URL: database.url,
      VIM_MONITOR_SECRETS_KEY: randomBytes(32).toString('base64'),
      VIM_MONITOR_MONITOR_PROBES: 'tcp',
      VIM_MONITOR_MONITOR_INTERVAL: String(INTERVAL),
      VIM_MONITOR_MONITOR_TIMEOUT: String(TIMEOUT),
      VIM_MONITOR_MONITOR_FAILURE_THRESHOLD: String(FAILURE_THRESHOLD),
      VIM_MONITOR_MONITOR_SUCCESS_THRESHOLD: '2',
      VIM_MONITOR_MONITOR_BATCH_WINDOW: '0',
      VIM_MONITOR_MANAGER_LEASE_TTL: '3',
      VIM_MONITOR_MANAGER_HEARTBEAT_INTERVAL: '1',
      VIM_MONITOR_MANAGER_SWEEP_INTERVAL: '1',
      VIM_MONITOR_CONFIRM_ENABLED: String(confirm),
    };
    // w1 reaches the database through the relay on our link, and serves its API on its own address.
    const viaRelay = new URL(database.url);
    viaRelay.hostname = net.hostAddress;
    viaRelay.port = String(relay.port);
    w1 = await startServeProcess(
      'w1',
      { ...env, VIM_MONITOR_DATABASE_URL: viaRelay.toString(), VIM_MONITOR_SERVER_HOST: net.farAddress, VIM_MONITOR_MANAGER_ZONE: 'a' },
      dir,
      net.exec,
    );
    processes.push(w1);
    w2 = await startServeProcess('w2', { ...env, VIM_MONITOR_MANAGER_ZONE: 'b' }, dir);
    processes.push(w2);
    processes.push(await startServeProcess('w3', { ...env, VIM_MONITOR_MANAGER_ZONE: 'c' }, dir));
    // Interleaved, so that every worker owns VIMs of both kinds after the split.
    const create = async (i: number) => {
      const isPartial = i % 3 !== 2;
      const target = isPartial ? `${net.targetAddress}:${partial.port}` : `${net.hostAddress}:${down.port}`;
      const created = await w2.post('/v1.0/vims', {
        vim: { name: `vim-${i}`, type: 'openstack', auth_url: `http://${target}`, auth_cred: { username: 'u', password: 'p' }, vim_project: { name: 'p' } },
      });
      expect(created.vim, JSON.stringify(created)).toBeDefined();
      (isPartial ? partialIds : downIds).push(created.vim.id);
    };
    for (let i = 0; i < PARTIAL_VIMS + DOWN_VIMS; i += 10) {
      await Promise.all(Array.from({ length: Math.min(10, PARTIAL_VIMS + DOWN_VIMS - i) }, (_, k) => create(i + k)));
    }
    // Set-up, not a bound under test: three workers rebalancing on a loaded CI machine once took more than 30 s
    // (a full suite run of 2026-12-02; the file alone and the next full run passed). The last state seen is in the error.
    let seen = '';
    await waitFor('an even split and every VIM REACHABLE', async () => {
      const counts = await Promise.all(processes.map(async (p) => (await local(p)).length));
      const s = await statuses();
      const notReachable = [...partialIds, ...downIds].filter((id) => s[id] !== 'REACHABLE').map((id) => s[id] ?? 'missing');
      seen = `monitors per worker ${counts.join('/')}, not REACHABLE: ${notReachable.length === 0 ? 'none' : notReachable.join(', ')}`;
      return counts.every((n) => n >= 4) && notReachable.length === 0 ? true : undefined;
    }, 60_000 * SCALE).catch((error: unknown) => {
      throw new Error(`${(error as Error).message} (last seen: ${seen})`);
    });
  }, 120_000 * SCALE);

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await partial?.down();
    await down?.down();
    await relay?.cut();
    net?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function local(p: ClusterProcess): Promise<MonitorView[]> {
    return ((await p.get('/v1.0/monitors')).monitors as MonitorView[]).filter((m) => m.state !== 'remote');
  }

  async function statuses(): Promise<Record<string, string>> {
    const vims = (await w2.get('/v1.0/vims?fields=id&fields=status')).vims as Array<{ id: string; status: string }>;
    return Object.fromEntries(vims.map((v) => [v.id, v.status]));
  }

  async function monitorEvents(id: string): Promise<Array<{ resource_state: string; event_details: { reason: string } }>> {
    return (await w2.get(`/v1.0/events?resource_id=${id}&event_type=MONITOR`)).events;
  }

  it('shows each worker its zone in GET /v1.0/manager, with the other live workers', async () => {
    const manager = (await w1.get('/v1.0/manager')).manager;
    expect(manager.zone).toBe('a');
    expect(manager.confirmation).toMatchObject({ enabled: confirm, zone: 'a' });
    // Each worker reads the others every heartbeat_interval (1 s here).
    const others = await waitFor('w2 and w3 with their zones', async () => {
      const live = (await w1.get('/v1.0/manager')).manager.confirmation.live_workers as Array<{ id: string; zone: string }>;
      const seen = live.map((w) => `${w.id}:${w.zone}`).sort();
      return seen.join() === 'w2:b,w3:c' ? seen : undefined;
    }, 3_000);
    expect(others).toEqual(['w2:b', 'w3:c']);
  });

  it(
    confirm
      ? 'keeps a VIM that only w1 cannot reach REACHABLE, held with the reason that w2 and w3 reach it'
      : 'lets w1 report a VIM that only it cannot reach UNREACHABLE: the false alarm',
    async () => {
      const mine = (await local(w1)).filter((m) => partialIds.includes(m.vim_id)).map((m) => m.vim_id);
      expect(mine.length).toBeGreaterThan(0);
      net.cut(net.targetAddress);
      try {
        if (!confirm) {
          await waitFor('the false alarm', async () => {
            const s = await statuses();
            return mine.every((id) => s[id] === 'UNREACHABLE') ? true : undefined;
          }, BOUND_ALONE_MS + 3_000);
          return;
        }
        const held = await waitFor('w1 holding its VIMs on the cut target', async () => {
          const views = (await local(w1)).filter((m) => mine.includes(m.vim_id));
          return views.length === mine.length && views.every((m) => m.held?.reason.startsWith('not confirmed')) ? views : undefined;
        }, BOUND_CONFIRMED_MS + 3_000);
        console.log(`held reason: ${held[0]?.held?.reason} (${held.length} VIMs held on w1)`);
        for (const view of held) {
          expect(view.status).toBe('REACHABLE');
          expect(view.held?.reason).toBe('not confirmed by other workers: 0 of 2 found it down, 1 needed; reached from w2 (zone b), w3 (zone c)');
        }
        // Several more detection bounds: still no UNREACHABLE anywhere, no event, and w1 keeps probing (failures grow).
        await new Promise((resolve) => setTimeout(resolve, 2 * BOUND_CONFIRMED_MS));
        const s = await statuses();
        for (const id of partialIds) expect(s[id], id).toBe('REACHABLE');
        for (const id of mine) expect((await monitorEvents(id)).filter((e) => e.resource_state === 'UNREACHABLE')).toEqual([]);
        const later = (await local(w1)).filter((m) => mine.includes(m.vim_id));
        for (const view of later) expect(view.consecutive_failures).toBeGreaterThan(FAILURE_THRESHOLD + 5);
        const confirmation = (await w1.get('/v1.0/manager')).manager.confirmation;
        console.log(`w1 confirmation figures: ${JSON.stringify({ ...confirmation, live_workers: undefined })}`);
        // The VIMs the other workers own on that target never failed at all.
        for (const id of partialIds.filter((id) => !mine.includes(id))) expect(await monitorEvents(id)).toHaveLength(1);
      } finally {
        net.restore(net.targetAddress);
      }
    },
    60_000 * SCALE,
  );

  it(
    confirm
      ? 'turns a VIM really down UNREACHABLE within the documented bound, the event naming the confirmers'
      : 'turns a VIM really down UNREACHABLE within interval × failure_threshold + timeout',
    async () => {
      const seen = new Map<string, number>();
      const startedAt = Date.now();
      await down.down();
      await waitFor('every down VIM UNREACHABLE', async () => {
        const s = await statuses();
        for (const id of downIds) if (s[id] === 'UNREACHABLE' && !seen.has(id)) seen.set(id, Date.now() - startedAt);
        return seen.size === downIds.length ? true : undefined;
      }, BOUND_CONFIRMED_MS + 10_000);
      const latencies = [...seen.values()].sort((a, b) => a - b);
      console.log(
        `detection latency ${confirm ? 'with' : 'without'} confirmation (interval ${INTERVAL} s, failure_threshold ${FAILURE_THRESHOLD}, timeout ${TIMEOUT} s, ${DOWN_VIMS} VIMs): ` +
          `min ${latencies[0]} ms, median ${latencies[Math.floor(latencies.length / 2)]} ms, max ${latencies.at(-1)} ms`,
      );
      expect(latencies.at(-1)).toBeLessThanOrEqual((confirm ? BOUND_CONFIRMED_MS : BOUND_ALONE_MS) + OBSERVATION_SLACK_MS);
      const owners = new Map(((await w2.get('/v1.0/monitors')).monitors as MonitorView[]).map((m) => [m.vim_id, m.owner]));
      const ownedByW1 = downIds.filter((id) => owners.get(id) === 'w1');
      expect(ownedByW1.length).toBeGreaterThan(0);
      console.log(`event reason: ${(await monitorEvents(ownedByW1[0]!)).at(-1)?.event_details.reason}`);
      for (const id of downIds) {
        const reason = (await monitorEvents(id)).at(-1)?.event_details.reason ?? '';
        // w1 (zone a) asks w2 and w3: its events name zones b and c only.
        if (confirm && owners.get(id) === 'w1') expect(reason, id).toMatch(/zones? [bc](, [bc])?: w[23](, w[23])?(;|\))/);
        // Quorum 1: the first answer that finds it down decides; the other asked worker may not have answered yet.
        if (confirm) expect(reason, id).toMatch(/^failed: tcp: .*\(confirmed by [12] of 2 workers in zones? [abc](, [abc])?: w[123](, w[123])?(; w[123] had not answered yet)?\)$/);
        else expect(reason, id).toMatch(/^failed: tcp: [^(]*$/);
      }
      await down.up();
    },
    60_000 * SCALE,
  );
});
