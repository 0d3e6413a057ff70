/**
 * The broker watch around the real AMQP sink and a real RabbitMQ: a delivery
 * the broker does not take marks the broker down (the isolation guard's
 * outage grace), the next one it takes marks it up again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteOsloTopology, requireRabbitMq, uniqueName, RABBITMQ_URL } from '../../test/support/oslo-listener.js';
import { AmqpSink } from '../events/sinks/amqp.js';
import { amqpNotificationsDefaults } from '../events/sinks/amqp-config.js';
import type { VimEvent } from '../events/vim-event.js';
import { BrokerWatch } from './broker-watch.js';

const EVENT: VimEvent = {
  id: 1,
  vimId: '00000000-0000-4000-8000-000000000001',
  vimName: 'edge-1',
  tenantId: 't-1',
  monitorId: 'm-1',
  oldStatus: 'REACHABLE',
  newStatus: 'UNREACHABLE',
  reason: 'tcp: connection refused',
  probes: {},
  timestamp: '2026-12-01 10:00:00.000000',
};

describe('the broker watch', () => {
  const exchange = uniqueName('guard_watch');

  beforeAll(async () => {
    await requireRabbitMq();
  });
  afterAll(async () => {
    await deleteOsloTopology({ exchange, topics: ['notifications'] }).catch(() => undefined);
  });

  it('says down after a delivery the broker did not take, and up after one it took', async () => {
    const watch = new BrokerWatch();
    // Nothing listens on port 1 of loopback: the broker refuses, as one that is down.
    const broken = watch.wrap(new AmqpSink({ config: amqpNotificationsDefaults({ enabled: true, url: 'amqp://guest:guest@127.0.0.1:1/', connect_timeout: 1, exchange }) }));
    const working = watch.wrap(new AmqpSink({ config: amqpNotificationsDefaults({ enabled: true, url: RABBITMQ_URL, exchange }) }));
    expect(watch.down).toBe(false);
    await expect(broken.deliver(EVENT, AbortSignal.timeout(2_000))).rejects.toThrow();
    expect(watch.down).toBe(true);
    await working.deliver(EVENT, AbortSignal.timeout(5_000));
    expect(watch.down).toBe(false);
    await broken.close?.();
    await working.close?.();
  }, 15_000);
});
