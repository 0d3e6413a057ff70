/**
 * A maintenance window with three real `vim-monitor serve` processes on one
 * PostgreSQL database, one of them killed with SIGKILL in the middle of the
 * window. Every worker learns of the window (created through another
 * worker's API) by its periodic read; when the window is deleted each VIM's
 * owner stores the catch-up of its own VIMs, the killed worker's included
 * (taken over, their pending catch-up found in the database): exactly one
 * webhook per VIM, none during the window. Real TCP target, real receiver.
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
import { WebhookReceiver } from '../support/webhook-receiver.js';

const VIMS = 12;

describe('a maintenance window across three workers on postgres', () => {
  let database: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-maint-cluster-'));
  const processes: ClusterProcess[] = [];
  const target = new TcpTarget();
  const receiver = new WebhookReceiver();
  const ids: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    await target.up();
    await receiver.up();
    const env = {
      VIM_MONITOR_DATABASE_URL: database.url,
      VIM_MONITOR_SECRETS_KEY: randomBytes(32).toString('base64'),
      VIM_MONITOR_MONITOR_PROBES: 'tcp',
      VIM_MONITOR_MONITOR_INTERVAL: '0.5',
      VIM_MONITOR_MONITOR_TIMEOUT: '0.3',
      VIM_MONITOR_MONITOR_FAILURE_THRESHOLD: '1',
      VIM_MONITOR_MONITOR_SUCCESS_THRESHOLD: '1',
      VIM_MONITOR_MANAGER_LEASE_TTL: '3',
      VIM_MONITOR_MANAGER_HEARTBEAT_INTERVAL: '1',
      VIM_MONITOR_MANAGER_SWEEP_INTERVAL: '1',
      VIM_MONITOR_OUTBOX_POLL_INTERVAL: '0.1',
      VIM_MONITOR_OUTBOX_SETTLE: '0.2',
      VIM_MONITOR_OUTBOX_LEASE_TTL: '2',
      VIM_MONITOR_WEBHOOKS_ALLOW_LOOPBACK: 'true',
      VIM_MONITOR_MAINTENANCE_CHECK_INTERVAL: '0.2',
      VIM_MONITOR_MAINTENANCE_REFRESH_INTERVAL: '0.5',
    };
    for (const name of ['m1', 'm2', 'm3']) processes.push(await startServeProcess(name, env, dir));
    const subscribed = await processes[0]!.post('/v1.0/subscriptions', { subscription: { callback_url: receiver.url } });
    expect(subscribed.subscription, JSON.stringify(subscribed)).toBeDefined();
    for (let i = 0; i < VIMS; i++) {
      const created = await processes[i % 3]!.post('/v1.0/vims', {
        vim: { name: `vim-${i}`, type: 'openstack', auth_url: `http://127.0.0.1:${target.port}`, auth_cred: { username: 'u', password: 'p' }, vim_project: { name: 'p' } },
      });
      expect(created.vim, JSON.stringify(created)).toBeDefined();
      ids.push(created.vim.id);
    }
  }, 60_000);

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await target.down();
    await receiver.down();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const alive = () => processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  async function owners(): Promise<Map<string, string>> {
    const owned = new Map<string, string>();
    for (const p of alive()) {
      for (const m of (await p.get('/v1.0/monitors')).monitors as Array<{ vim_id: string; state: string }>) if (m.state !== 'remote') owned.set(m.vim_id, p.name);
    }
    return owned;
  }
  const events = () => receiver.events().filter((e) => ids.includes(e.resource_id));
  const statuses = async (): Promise<string[]> => ((await processes[0]!.get('/v1.0/vims?fields=status')).vims as Array<{ status: string }>).map((v) => v.status);

  it('sends one catch-up per VIM after the window, from whichever worker owns it then, and nothing during it', async () => {
    await waitFor('every VIM REACHABLE and notified', async () => ((await statuses()).every((s) => s === 'REACHABLE') && events().length === VIMS ? true : undefined), 20_000);
    await waitFor('the VIMs split over the three workers', async () => {
      const owned = await owners();
      return owned.size === VIMS && new Set(owned.values()).size === 3 ? true : undefined;
    }, 20_000);

    const created = await processes[0]!.post('/v1.0/maintenances', { maintenance: { reason: 'core switch', scope: { tenant_id: 'admin' } } });
    expect(created.maintenance, JSON.stringify(created)).toBeDefined();
    // The other workers read it within refresh_interval.
    for (const p of processes) {
      await waitFor(`${p.name} knows the window`, async () => ((await p.get('/v1.0/vims?maintenance=true')).vims.length === VIMS ? true : undefined), 5_000);
    }
    await target.down();
    await waitFor('every VIM UNREACHABLE', async () => ((await statuses()).every((s) => s === 'UNREACHABLE') ? true : undefined), 10_000);

    // One worker dies in the middle of the window; the others take its VIMs over.
    const victim = processes[2]!;
    const victimVims = [...(await owners())].filter(([, owner]) => owner === victim.name).map(([vimId]) => vimId);
    expect(victimVims.length).toBeGreaterThan(0);
    victim.child.kill('SIGKILL');
    await new Promise((resolve) => victim.child.once('exit', resolve));
    await waitFor('the takeover', async () => {
      const owned = await owners();
      return owned.size === VIMS && victimVims.every((id) => owned.get(id) !== victim.name) ? true : undefined;
    }, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(events()).toHaveLength(VIMS);

    const deleted = await fetch(`${processes[1]!.url}/v1.0/maintenances/${created.maintenance.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    await waitFor('one catch-up per VIM', () => (events().length >= 2 * VIMS ? true : undefined), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const catchUps = events().slice(VIMS);
    expect(catchUps).toHaveLength(VIMS);
    expect(new Set(catchUps.map((e) => e.resource_id))).toEqual(new Set(ids));
    for (const event of catchUps) {
      expect(`${event.event_details.old_status}->${event.resource_state}`).toBe('REACHABLE->UNREACHABLE');
    }
    // The history on any worker keeps the held changes.
    const history = (await processes[0]!.get(`/v1.0/events?resource_id=${victimVims[0]}&event_type=MONITOR`)).events as Array<{ held_by?: string; resource_state: string }>;
    expect(history.map((e) => `${e.resource_state}${e.held_by ? ` (${e.held_by})` : ''}`)).toEqual(['REACHABLE', 'UNREACHABLE (maintenance)', 'UNREACHABLE']);
  }, 90_000);
});
