/**
 * Issue 11's isolation proof with real parts: three real `vim-monitor serve`
 * processes on one PostgreSQL database; w3 runs in a network namespace of its
 * own, whose only link leads to a TCP relay to PostgreSQL, a canary and the
 * VIMs' TCP services (all on the host's side of that link).
 *
 * - The link is cut: w3 loses its VIMs and its database at once. Its VIMs
 *   must not turn UNREACHABLE (its guard holds them; one `monitor.isolated`,
 *   stored when its database comes back); w1 and w2 take them over by lease
 *   expiry and keep them REACHABLE. With a canary and without one (then the
 *   failing share alone trips).
 * - Only the way to the VIMs is cut, the database stays: w3 keeps its VIMs
 *   (no takeover) and they stay REACHABLE, where an unguarded w3 would store
 *   and send an UNREACHABLE for each.
 *
 * The webhook receiver sees no storm: no status change at all, one ISOLATED
 * event and the NORMAL one when w3 is back.
 */
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServeProcess, type ClusterProcess } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startIsolatedNetns, type IsolatedNetns } from '../support/isolated-netns.js';
import { waitFor } from '../support/monitoring.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { TcpTarget } from '../support/tcp-target.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'main.js');
const LEASE_TTL = 3;
const SWEEP = 1;
const INTERVAL = 1;
const FAILURE_THRESHOLD = 3;
const VIMS = 30;
const CUT_MS = 10_000;

interface Event {
  id: number;
  event_type: string;
  resource_id: string;
  resource_type: string;
  resource_state: string;
  event_details: Record<string, unknown>;
}

/** w3: `vim-monitor serve` inside the namespace; its API answers only in there (through curl in the namespace). */
interface InnerWorker {
  child: ChildProcess;
  output(): string;
  get(path: string): any;
}

async function startInnerWorker(netns: IsolatedNetns, env: Record<string, string>, cwd: string): Promise<InnerWorker> {
  const child = netns.exec(process.execPath, [CLI, 'serve'], {
    ...process.env,
    VIM_MONITOR_SERVER_PORT: '0',
    VIM_MONITOR_LOG_FORMAT: 'json',
    VIM_MONITOR_MANAGER_WORKER_NAME: 'w3',
    ...env,
  });
  void cwd;
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const url = await waitFor('w3 listening', () => {
    if (child.exitCode !== null) throw new Error(`w3 exited: ${text}`);
    return /"url":"(http:\/\/127\.0\.0\.1:\d+)".*listening/.exec(text)?.[1];
  }, 20_000);
  return { child, output: () => text, get: (path) => JSON.parse(netns.run('curl', ['-s', '-m', '2', url + path])) };
}

// With a canary (w3's "router": a TCP service on its link) and without one: then the failing share alone must trip.
describe.each([
  { cut: 'link', canary: true, cause: undefined },
  { cut: 'link', canary: false, cause: 'failing_share' },
  { cut: 'vims', canary: true, cause: 'failing_share' },
] as const)('a worker whose $cut is cut (network namespace) among three on PostgreSQL, canary $canary', ({ cut, canary: withCanary, cause }) => {
  let database: TestDatabase;
  let netns: IsolatedNetns;
  let relay: TcpProxy;
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-isolation-'));
  const outside: ClusterProcess[] = [];
  let inner: InnerWorker;
  let vimTarget: TcpTarget;
  let canary: TcpTarget;
  const receiver = new WebhookReceiver();
  const ids: string[] = [];

  beforeAll(async () => {
    netns = startIsolatedNetns();
    database = await createTestDatabase('postgres');
    // What w3 may reach, on the host's side of its link: its database (a relay to PostgreSQL), its VIMs, its canary.
    relay = new TcpProxy('127.0.0.1', 5432, netns.hostAddress);
    await relay.start();
    vimTarget = new TcpTarget(netns.serviceAddress);
    await vimTarget.up();
    canary = new TcpTarget(netns.hostAddress);
    await canary.up();
    await receiver.up();
    const env = {
      VIM_MONITOR_DATABASE_URL: database.url,
      VIM_MONITOR_SECRETS_KEY: randomBytes(32).toString('base64'),
      VIM_MONITOR_MONITOR_PROBES: 'tcp',
      VIM_MONITOR_MONITOR_INTERVAL: String(INTERVAL),
      VIM_MONITOR_MONITOR_TIMEOUT: '0.5',
      VIM_MONITOR_MONITOR_FAILURE_THRESHOLD: String(FAILURE_THRESHOLD),
      VIM_MONITOR_MONITOR_SUCCESS_THRESHOLD: '2',
      VIM_MONITOR_MONITOR_BATCH_WINDOW: '0',
      VIM_MONITOR_MANAGER_LEASE_TTL: String(LEASE_TTL),
      VIM_MONITOR_MANAGER_HEARTBEAT_INTERVAL: '1',
      VIM_MONITOR_MANAGER_SWEEP_INTERVAL: String(SWEEP),
      VIM_MONITOR_GUARD_MIN_FAILING: '5',
      VIM_MONITOR_GUARD_INTERVAL: '0.2',
      VIM_MONITOR_GUARD_RECOVERY_GRACE: '3',
      // The cut also cuts the database: when its outage ends during recovery, the outage grace extends the wait
      // (by design); whether that comes before or after the canary answers again depends on timing, so both graces
      // are short here and "back to normal" comes within the wait below either way.
      VIM_MONITOR_GUARD_OUTAGE_GRACE: '3',
      ...(withCanary && { VIM_MONITOR_GUARD_CANARIES: `${netns.hostAddress}:${canary.port}` }),
      VIM_MONITOR_GUARD_CANARY_INTERVAL: '0.5',
      VIM_MONITOR_GUARD_CANARY_TIMEOUT: '0.3',
      VIM_MONITOR_WEBHOOKS_ALLOW_LOOPBACK: 'true',
      VIM_MONITOR_OUTBOX_POLL_INTERVAL: '0.2',
      VIM_MONITOR_OUTBOX_SETTLE: '0.5',
    };
    for (const name of ['w1', 'w2']) outside.push(await startServeProcess(name, env, dir));
    const proxied = new URL(database.url);
    proxied.hostname = netns.hostAddress;
    proxied.port = String(relay.port);
    // w3 delivers no events itself: its webhooks would be cut with it (w1 and w2 hold the channel).
    inner = await startInnerWorker(netns, { ...env, VIM_MONITOR_DATABASE_URL: proxied.toString(), VIM_MONITOR_OUTBOX_ENABLED: 'false' }, dir);

    for (let i = 0; i < VIMS; i++) {
      const created = await outside[i % 2]!.post('/v1.0/vims', {
        vim: { name: `vim-${i}`, type: 'openstack', auth_url: `http://${netns.serviceAddress}:${vimTarget.port}`, auth_cred: { username: 'u', password: 'p' }, vim_project: { name: 'p' } },
      });
      expect(created.vim, JSON.stringify(created)).toBeDefined();
      ids.push(created.vim.id);
    }
  }, 120_000);

  afterAll(async () => {
    inner?.child.kill('SIGKILL');
    for (const p of outside) p.child.kill('SIGKILL');
    netns?.close();
    await relay?.cut();
    await vimTarget?.down();
    await canary?.down();
    await receiver.down();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function owners(): Promise<Record<string, number>> {
    const monitors = (await outside[0]!.get('/v1.0/monitors')).monitors as Array<{ vim_id: string; owner: string }>;
    const counts: Record<string, number> = {};
    for (const m of monitors) counts[m.owner] = (counts[m.owner] ?? 0) + 1;
    return counts;
  }

  async function statuses(): Promise<Record<string, number>> {
    const vims = (await outside[0]!.get('/v1.0/vims?fields=id&fields=status')).vims as Array<{ status: string }>;
    const counts: Record<string, number> = {};
    for (const v of vims) counts[v.status] = (counts[v.status] ?? 0) + 1;
    return counts;
  }

  async function events(type: string): Promise<Event[]> {
    return (await outside[0]!.get(`/v1.0/events?event_type=${type}&limit=1000`)).events as Event[];
  }

  it('split the VIMs over the three workers, w3 inside its namespace, all REACHABLE', async () => {
    await waitFor('w3 runs its share', async () => ((await owners()).w3 ?? 0) >= 8 ? true : undefined, 30_000);
    await waitFor('all REACHABLE', async () => ((await statuses()).REACHABLE === VIMS ? true : undefined), 15_000);
    expect(inner.get('/v1.0/manager/isolation').isolation).toMatchObject({ state: 'normal', canaries: withCanary ? [{ ok: true }] : [] });
    const subscribed = await outside[0]!.post('/v1.0/subscriptions', {
      subscription: { callback_url: receiver.url, filter: { event_types: ['MONITOR', 'ISOLATION'] } },
    });
    expect(subscribed.subscription, JSON.stringify(subscribed)).toBeDefined();
    // The guard looks for a rise only from a window after the first rounds, against the share a window before.
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL * 1000));
  }, 60_000);

  it('holds w3 verdicts when cut off, keeps its VIMs REACHABLE, and sends one monitor.isolated, no storm', async () => {
    const w3Vims = (await owners()).w3 ?? 0;
    const monitorEventsBefore = (await events('MONITOR')).length;
    const outputBefore = inner.output().length;
    const cutAt = Date.now();
    if (cut === 'link') netns.cut();
    else netns.cutServices();
    try {
      // Inside, w3 keeps answering from memory: its guard saw every VIM fail at once, or its canary go.
      const isolated = await waitFor('w3 isolated', () => {
        const view = inner.get('/v1.0/manager/isolation').isolation;
        return view.state === 'isolated' ? view : undefined;
      }, 5_000);
      console.log(`w3 isolated ${Date.now() - cutAt} ms after the cut (cause ${isolated.cause}, ${isolated.failing}/${isolated.recent} failing); verdicts would come after ${FAILURE_THRESHOLD * INTERVAL} s`);
      // Whichever trips first may isolate; without a canary only the share can, with one the canary (checked every 0.5 s) usually wins.
      if (cause) expect(isolated.cause).toBe(cause);
      expect(Date.now() - cutAt).toBeLessThan(FAILURE_THRESHOLD * INTERVAL * 1000);

      if (cut === 'link') {
        // Outside, w1 and w2 take w3's VIMs over by lease expiry (its heartbeats no longer reach the database).
        await waitFor('w1 and w2 run every VIM', async () => ((await owners()).w3 === undefined ? true : undefined), (LEASE_TTL + SWEEP) * 1000 + 8_000);
      }
      const elapsed = Date.now() - cutAt;
      if (elapsed < CUT_MS) await new Promise((resolve) => setTimeout(resolve, CUT_MS - elapsed));
      expect(await statuses()).toEqual({ REACHABLE: VIMS });
      // Its database still there, w3 keeps its leases: its VIMs stay with it, held REACHABLE.
      if (cut === 'vims') expect((await owners()).w3).toBe(w3Vims);
      expect(inner.get('/v1.0/manager/isolation').isolation).toMatchObject({ state: 'isolated', holding: true });
    } finally {
      if (cut === 'link') netns.restore();
      else netns.restoreServices();
    }
    const w3Log = inner.output().slice(outputBefore);
    expect(w3Log).toContain('down verdict held');
    expect(w3Log).not.toContain('"msg":"VIM status changed"');
    expect(w3Log.match(/"msg":"worker isolated: /g)).toHaveLength(1);

    // Back on the network: w3 stores its isolation (once), finds its leases gone, recovers and says so after recovery_grace.
    await waitFor('the ISOLATED event stored', async () => ((await events('ISOLATION')).length >= 1 ? true : undefined), 20_000);
    await waitFor('w3 back to normal', () => (inner.get('/v1.0/manager/isolation').isolation.state === 'normal' ? true : undefined), 20_000);
    await waitFor('the NORMAL event stored', async () => ((await events('ISOLATION')).length >= 2 ? true : undefined), 10_000);
    const isolation = await events('ISOLATION');
    expect(isolation.map((e) => `${e.resource_id}:${e.resource_state}`)).toEqual(['w3:ISOLATED', 'w3:NORMAL']);
    expect(isolation[0]).toMatchObject({ resource_type: 'worker', event_details: { old_state: 'NORMAL', new_state: 'ISOLATED' } });
    if (isolation[0]!.event_details.cause === 'failing_share') expect(isolation[0]!.event_details.failing).toBeGreaterThanOrEqual(5);
    else expect(isolation[0]!.event_details.canaries).toEqual([{ canary: `${netns.hostAddress}:${canary.port}`, ok: false }]);

    // Nothing changed status anywhere: the VIMs were reachable all along, from w1 and w2.
    expect((await events('MONITOR')).length).toBe(monitorEventsBefore);
    expect(await statuses()).toEqual({ REACHABLE: VIMS });
    await waitFor('both isolation webhooks', () => (receiver.received.length >= 2 ? true : undefined), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const delivered = receiver.events() as unknown as Event[];
    const byType: Record<string, number> = {};
    for (const e of delivered) byType[e.event_type] = (byType[e.event_type] ?? 0) + 1;
    console.log(`webhook deliveries after the cut of w3 (${w3Vims} VIMs): ${JSON.stringify(byType)}`);
    expect(byType).toEqual({ ISOLATION: 2 });
  }, 90_000);
});
