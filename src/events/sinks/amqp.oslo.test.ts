/**
 * The AMQP sink against the real RabbitMQ (127.0.0.1:5672, guest/guest) and a
 * real oslo.messaging notification listener (test/support/oslo-listener.py,
 * Debian python3-oslo.messaging): what the listener's endpoint is called with
 * is what any OpenStack consumer of our notifications gets.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOsloListener, uniqueName, RABBITMQ_URL, type OsloListener } from '../../../test/support/oslo-listener.js';
import type { VimStatus } from '../../vims/model.js';
import type { VimEvent } from '../vim-event.js';
import { amqpNotificationsDefaults, AmqpSink } from './amqp.js';
import { notificationMessageId } from './oslo-envelope.js';

const exchange = uniqueName('vimmon_test_exchange');
const topic = uniqueName('vimmon_test_notifications');
const vimId = randomUUID();
let nextId = 1000;

function vimEvent(oldStatus: VimStatus, newStatus: VimStatus, reason = 'icmp: 100% packet loss'): VimEvent {
  const id = nextId++;
  return {
    id,
    vimId,
    vimName: 'edge-1',
    tenantId: 'nfv-tenant',
    monitorId: 'monitor-7',
    oldStatus,
    newStatus,
    reason,
    probes: { icmp: { ok: newStatus === 'REACHABLE', latency_ms: 1.5, reason, checked_at: '2026-01-31 12:00:00.100000', consecutive_failures: 0, consecutive_successes: 2 } },
    timestamp: `2026-01-31 12:00:${String(id % 60).padStart(2, '0')}.123456`,
  };
}

describe('AMQP notifications read by a real oslo.messaging listener', () => {
  let listener: OsloListener;
  let sink: AmqpSink;

  beforeAll(async () => {
    listener = await startOsloListener({ exchange, topics: [topic] });
    sink = new AmqpSink({
      config: amqpNotificationsDefaults({ enabled: true, url: RABBITMQ_URL, exchange, topics: [topic], publisher_id: 'vim-monitor.test-host' }),
    });
  });

  afterAll(async () => {
    await sink?.close();
    await listener?.stop();
  });

  it('decodes event type, publisher, priority (info / warn), every payload field and the stable message id', async () => {
    const down = vimEvent('REACHABLE', 'UNREACHABLE', 'icmp: 100% packet loss');
    const up = vimEvent('UNREACHABLE', 'REACHABLE', 'all probes succeeded');
    const before = listener.received.length;
    await sink.deliver(down, AbortSignal.timeout(10_000));
    await sink.deliver(up, AbortSignal.timeout(10_000));
    const got = (await listener.waitFor(before + 2)).slice(before);
    const byMethod = Object.fromEntries(got.map((n) => [n.method, n]));
    expect(Object.keys(byMethod).sort()).toEqual(['info', 'warn']);

    for (const [method, event] of [
      ['warn', down],
      ['info', up],
    ] as const) {
      const n = byMethod[method];
      expect(n?.event_type).toBe('vim.status.update');
      expect(n?.publisher_id).toBe('vim-monitor.test-host');
      expect(n?.payload).toEqual({
        vim_id: vimId,
        vim_name: 'edge-1',
        tenant_id: 'nfv-tenant',
        old_status: event.oldStatus,
        new_status: event.newStatus,
        reason: event.reason,
        monitor_id: 'monitor-7',
        event_id: event.id,
        timestamp: event.timestamp,
        probes: event.probes,
      });
      expect(n?.metadata).toEqual({ message_id: notificationMessageId(event), timestamp: event.timestamp });
    }
  });

  it('hands a redelivered event to the listener with the same message_id and event_id, so it can be de-duplicated', async () => {
    const event = vimEvent('REACHABLE', 'UNREACHABLE');
    const before = listener.received.length;
    await sink.deliver(event, AbortSignal.timeout(10_000));
    await sink.deliver(event, AbortSignal.timeout(10_000));
    const [first, second] = (await listener.waitFor(before + 2)).slice(before);
    expect(first?.metadata.message_id).toBe(notificationMessageId(event));
    expect(second?.metadata.message_id).toBe(first?.metadata.message_id);
    expect(second?.payload.event_id).toBe(event.id);
    expect(first?.payload.event_id).toBe(event.id);
  });

  it('gets all of 50 events delivered at once, in the order they were delivered', async () => {
    // One priority, so one queue: oslo keeps a queue per priority, and order holds within a queue.
    const events = Array.from({ length: 50 }, (_, i) => vimEvent('UNREACHABLE', 'REACHABLE', `round ${i}`));
    const before = listener.received.length;
    const started = performance.now();
    await Promise.all(events.map((event) => sink.deliver(event, AbortSignal.timeout(20_000))));
    const got = (await listener.waitFor(before + 50, 20_000)).slice(before);
    const elapsed = performance.now() - started;
    expect(got.map((n) => n.payload.event_id)).toEqual(events.map((e) => e.id));
    expect(got.map((n) => n.metadata.message_id)).toEqual(events.map((e) => notificationMessageId(e)));
    expect(new Set(got.map((n) => n.method))).toEqual(new Set(['info']));
    console.info(`50 notifications confirmed and received by the oslo listener in ${elapsed.toFixed(0)} ms`);
  });
});
