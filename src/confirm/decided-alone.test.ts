/**
 * The owner decides alone, and says so in the event, when no other worker
 * is live or none answers by the deadline. The real service on PostgreSQL
 * (a shared database, where confirmation runs); the probe is the scripted
 * stand-in, and the silent worker is a heartbeat row this test keeps fresh
 * for a worker that never polls: what is tested is the gate's and the
 * poller's own logic (real probes and real workers: test/e2e/confirmation.e2e.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { openstackVim } from '../../test/support/fixtures.js';
import { waitFor } from '../../test/support/monitoring.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import { startTestService, type TestService } from '../../test/support/service.js';

describe('a down verdict nobody else can confirm', () => {
  let database: TestDatabase;
  let service: TestService;
  const tcp = new ScriptedProbe('tcp');

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    service = await startTestService({
      databaseUrl: database.url,
      monitoring: {
        probes: [tcp],
        monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 2, success_threshold: 1 },
        manager: { sweep_interval: 0.2, heartbeat_interval: 0.5, lease_ttl: 2, zone: 'a' },
      },
      confirm: { deadline: 1, poll_interval: 0.1 },
    });
  }, 30_000);
  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  async function register(name: string): Promise<string> {
    const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name }) } });
    expect(response.status, response.text).toBe(201);
    const id = response.json.vim.id as string;
    await waitFor('REACHABLE', async () => ((await service.api('GET', `/v1.0/vims/${id}`)).json.vim.status === 'REACHABLE' ? true : undefined));
    return id;
  }

  async function lastReason(id: string): Promise<string> {
    const events = (await service.api('GET', `/v1.0/events?resource_id=${id}&event_type=MONITOR`)).json.events as Array<{ resource_state: string; event_details: { reason: string } }>;
    const last = events.at(-1);
    return last?.resource_state === 'UNREACHABLE' ? last.event_details.reason : '';
  }

  it('with no other live worker applies at once, the event saying it decided alone', async () => {
    const id = await register('alone');
    tcp.set(id, 'fail');
    const reason = await waitFor('UNREACHABLE', async () => (await lastReason(id)) || undefined);
    expect(reason).toBe('failed: tcp: tcp scripted failure (decided alone: no other live worker)');
  });

  it('with a live worker that never answers, holds until the deadline, then decides alone naming it, and leaves no request behind', async () => {
    const id = await register('unanswered');
    const beat = async () => {
      const now = Date.now();
      const updated = await service.store.db.updateTable('workers').set({ heartbeat_ms: now }).where('id', '=', 'ghost').executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) await service.store.db.insertInto('workers').values({ id: 'ghost', started_at_ms: now, heartbeat_ms: now, serves_api: 0, zone: 'b' }).execute();
    };
    await beat();
    const heart = setInterval(() => void beat(), 200);
    try {
      await waitFor('the ghost known as live', () => ((service.manager?.stats().live_workers ?? 0) >= 2 ? true : undefined));
      // The gate reads live workers at its own refresh (heartbeat_interval).
      await new Promise((resolve) => setTimeout(resolve, 600));
      const failedAt = Date.now();
      tcp.set(id, 'fail');
      const held = await waitFor('held while waiting', async () => {
        const monitor = (await service.api('GET', `/v1.0/vims/${id}/monitor`)).json.monitor;
        return monitor.held?.reason as string | undefined;
      });
      expect(held).toMatch(/^waiting for confirmation from ghost \(zone b\) \(quorum 1, answers due by \d{4}-\d\d-\d\d /);
      // The request is queued in memory by the review and written at the poller's next pass.
      const requests = await waitFor('the request row', async () => {
        const rows = await service.store.db.selectFrom('vim_confirmations').select(['vim_id', 'worker']).execute();
        return rows.length > 0 ? rows : undefined;
      });
      expect(requests).toEqual([{ vim_id: id, worker: 'ghost' }]);
      const reason = await waitFor('UNREACHABLE', async () => (await lastReason(id)) || undefined, 5_000);
      expect(reason).toBe('failed: tcp: tcp scripted failure (decided alone: no answer by the deadline from ghost)');
      // Two failed rounds (0.4 s), then the deadline (1 s), then the next round.
      expect(Date.now() - failedAt).toBeGreaterThanOrEqual(1_000);
      await waitFor('the request row deleted', async () => ((await service.store.db.selectFrom('vim_confirmations').selectAll().execute()).length === 0 ? true : undefined));
      const stats = (await service.api('GET', '/v1.0/manager')).json.manager;
      expect(stats).toMatchObject({ zone: 'a', confirmation: { decided_alone_no_answer: 1, decided_alone_no_worker: 1, asks: 1 } });
    } finally {
      clearInterval(heart);
    }
  });
});
