/**
 * PostgreSQL is really stopped for 30 s while monitoring runs against real
 * TCP targets: the API answers 503, monitoring carries on in memory, and when
 * the database returns every status change is written, in order, none lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, setPostgresRunning, type TestDatabase } from '../support/databases.js';
import { openstackVim } from '../support/fixtures.js';
import { waitFor } from '../support/monitoring.js';
import { startTestService, type TestService } from '../support/service.js';
import { TcpTarget } from '../support/tcp-target.js';

const OUTAGE_MS = 30_000;

describe('a 30 s PostgreSQL outage', () => {
  let database: TestDatabase;
  let service: TestService;
  const target = new TcpTarget();

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    await target.up();
    service = await startTestService({
      databaseUrl: database.url,
      monitoring: {
        monitor: { probes: ['tcp'], interval: 0.5, timeout: 0.3, failure_threshold: 2, success_threshold: 2 },
        manager: { sweep_interval: 1 },
      },
    });
  });
  afterAll(async () => {
    await setPostgresRunning(true);
    await service?.stop();
    await target.down();
    await database?.drop();
  });

  it('keeps monitoring in memory, answers 503, and writes every change in order when it returns', async () => {
    const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ auth_url: `http://127.0.0.1:${target.port}` }) } });
    expect(created.status).toBe(201);
    const id = created.json.vim.id as string;
    const live = () => service.manager?.monitorOf(id)?.status;
    await waitFor('REACHABLE stored', async () => ((await service.api('GET', `/v1.0/vims/${id}`)).json.vim.status === 'REACHABLE' ? true : undefined));

    const stoppedAt = Date.now();
    await setPostgresRunning(false);
    try {
      const during = await service.api('GET', '/v1.0/vims');
      expect(during.status).toBe(503);
      expect(during.json.TackerError.type).toBe('ServiceUnavailable');

      await target.down();
      await waitFor('UNREACHABLE in memory', () => (live() === 'UNREACHABLE' ? true : undefined), 5_000);
      await target.up();
      await waitFor('REACHABLE in memory', () => (live() === 'REACHABLE' ? true : undefined), 5_000);
      await target.down();
      await waitFor('UNREACHABLE in memory again', () => (live() === 'UNREACHABLE' ? true : undefined), 5_000);
      // Three status changes, each carrying the change of its conditions (conditions follow the status
      // thresholds, 2/2 here, so they change in the same round and travel in the same write).
      expect(service.writes?.stats().pending).toBe(3);
      expect((await service.api('GET', `/v1.0/vims/${id}`)).status).toBe(503);

      await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    } finally {
      await setPostgresRunning(true);
    }

    await waitFor('the queue to drain', () => (service.writes?.stats().pending === 0 ? true : undefined), 20_000);
    const events = (await service.api('GET', `/v1.0/events?resource_id=${id}&event_type=MONITOR`)).json.events as Array<{ resource_state: string; event_details: { old_status: string } }>;
    expect(events.map((e) => `${e.event_details.old_status}->${e.resource_state}`)).toEqual([
      'PENDING->REACHABLE',
      'REACHABLE->UNREACHABLE',
      'UNREACHABLE->REACHABLE',
      'REACHABLE->UNREACHABLE',
    ]);
    expect((await service.api('GET', `/v1.0/vims/${id}`)).json.vim.status).toBe('UNREACHABLE');
    expect(service.logText()).toContain('database unavailable: keeping monitor writes in memory');
  }, 90_000);
});
