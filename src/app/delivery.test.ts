import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../../test/support/monitoring.js';
import { startTestService, type TestService } from '../../test/support/service.js';
import { WebhookReceiver } from '../../test/support/webhook-receiver.js';
import { EventRepository } from '../store/event-repository.js';
import { tackerTimestamp } from '../time/clock.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('event delivery of a service on SQLite', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    vi.restoreAllMocks();
  });

  it('does not read the outbox while nothing is stored, and delivers an event stored later at once to a subscription created meanwhile', async () => {
    const reads = vi.spyOn(EventRepository.prototype, 'maxId');
    const receiver = new WebhookReceiver();
    await receiver.up();
    cleanups.push(() => receiver.down());
    const service: TestService = await startTestService({ outbox: { poll_interval: 0.05, settle: 0.1 } });
    cleanups.push(() => service.stop());

    await sleep(400);
    const idle = reads.mock.calls.length;
    await sleep(500); // ten poll intervals
    expect(reads.mock.calls.length).toBe(idle);

    const created = await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: receiver.url } } });
    expect(created.status).toBe(201);
    const storedAt = Date.now();
    await service.store.db
      .insertInto('vim_events')
      .values({ vim_id: 'vim-1', vim_name: 'edge', tenant_id: 'admin', monitor_id: 'm', old_status: 'PENDING', new_status: 'REACHABLE', reason: 'r', detail: '{}', created_at: tackerTimestamp(new Date()), event_type: 'MONITOR' })
      .execute();
    await waitFor('the event delivered', () => (receiver.events().length === 1 ? true : undefined), 5_000);
    // The settle time (0.1 s) and a few passes, not a long poll.
    expect(Date.now() - storedAt).toBeLessThan(1_000);

    await sleep(400);
    const caughtUp = reads.mock.calls.length;
    await sleep(500);
    expect(reads.mock.calls.length).toBe(caughtUp);
  });
});
