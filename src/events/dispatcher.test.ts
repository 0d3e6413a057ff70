import { afterEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger, LEVEL } from '../../test/support/log-capture.js';
import { waitFor } from '../../test/support/monitoring.js';
import { parseExposition, valueOf } from '../../test/support/promtool.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import { openStore, type Store } from '../store/database.js';
import { EventRepository } from '../store/event-repository.js';
import { migrateToLatest } from '../store/migrate.js';
import { SubscriptionRepository } from '../store/subscription-repository.js';
import { systemClock, tackerTimestamp } from '../time/clock.js';
import { EventDispatcher } from './dispatcher.js';
import type { EventSink } from './vim-event.js';

const OPTIONS = {
  owner: 'dispatch-test',
  pollIntervalMs: 50,
  leaseTtlMs: 10_000,
  settleMs: 0,
  retryBaseMs: 100,
  retryCapMs: 1_000,
  deadLetterAfterMs: 60_000,
  deliveryTimeoutMs: 1_000,
  batchSize: 100,
};

describe('the event dispatcher loop', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function channelStore(): Promise<Store> {
    const store = openStore('sqlite::memory:', { poolSize: 1 });
    cleanups.push(() => store.close());
    await migrateToLatest(store);
    await new SubscriptionRepository(store).ensure({
      id: 'channel-1',
      kind: 'amqp',
      tenantId: '',
      callbackUrl: '',
      sealedSecret: '',
      filter: '{}',
      createdAt: '2026-01-01 00:00:00.000000',
    });
    return store;
  }

  it('logs a pass that throws a TypeError at error level with the error, counts it, and keeps delivering', async () => {
    const store = await channelStore();
    const log = capturedLogger();
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    let buggy = true;
    let passes = 0;
    const dispatcher = new EventDispatcher(OPTIONS, {
      subscriptions: new SubscriptionRepository(store),
      events: new EventRepository(store),
      // Stand-in for a bug in the code that picks a channel's sink: nothing a client sends makes it throw on demand.
      sinkFor: (): EventSink | undefined => {
        passes += 1;
        if (buggy) throw new TypeError("Cannot read properties of undefined (reading 'deliver')");
        return undefined;
      },
      clock: systemClock,
      random: Math.random,
      logger: log.logger,
      metrics,
    });
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());

    await waitFor('three failed passes', () => (passes >= 3 ? true : undefined), 3_000);
    const failures = log.lines.filter((line) => line.msg === 'dispatch failed unexpectedly');
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures[0]).toMatchObject({ level: LEVEL.error, task: 'dispatch', err: { type: 'TypeError' } });
    const counted = valueOf(parseExposition(await metrics.expose()), 'vim_monitor_background_errors_total', { task: 'dispatch', kind: 'unexpected' });
    expect(counted).toBeGreaterThanOrEqual(3);

    buggy = false;
    const before = passes;
    await waitFor('passes after the bug is gone', () => (passes >= before + 3 ? true : undefined), 3_000);
    await dispatcher.stop();
    const stoppedAt = passes;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(passes).toBe(stoppedAt);
  });

  it('sends condition changes to the oslo notifier and to webhooks that ask for HEALTH, and only status changes to the other webhooks', async () => {
    const store = await channelStore();
    const subscriptions = new SubscriptionRepository(store);
    const base = { kind: 'webhook', tenantId: 'admin', callbackUrl: 'http://127.0.0.1:9/', sealedSecret: '', createdAt: '2026-01-01 00:00:00.000000' } as const;
    await subscriptions.insert({ ...base, id: 'webhook-default', filter: '{}' });
    await subscriptions.insert({ ...base, id: 'webhook-health', filter: JSON.stringify({ event_types: ['HEALTH'] }) });
    const row = { vim_id: 'vim-1', vim_name: 'edge', tenant_id: 'admin', monitor_id: 'm', old_status: 'PENDING', new_status: 'REACHABLE', reason: 'r', detail: '{}', created_at: '2026-01-01 00:00:01.000000' };
    await store.db.insertInto('vim_events').values([{ ...row, event_type: 'MONITOR' }, { ...row, old_status: 'REACHABLE', event_type: 'HEALTH', detail: JSON.stringify({ new_health: 'OK', changed: ['NetworkReachable'], conditions: [] }) }]).execute();
    const received = new Map<string, string[]>();
    // A recording sink per channel: what is tested is which events the dispatcher picks for each channel, not the transport.
    const dispatcher = new EventDispatcher(OPTIONS, {
      subscriptions,
      events: new EventRepository(store),
      sinkFor: (channel) => ({
        name: channel.id,
        deliver: async (event) => {
          received.set(channel.id, [...(received.get(channel.id) ?? []), event.kind ?? 'status']);
        },
      }),
      clock: systemClock,
      random: Math.random,
      logger: capturedLogger().logger,
    });
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    await waitFor('every channel served', () => (received.size === 3 && (received.get('channel-1')?.length ?? 0) === 2 ? true : undefined), 3_000);
    expect(Object.fromEntries(received)).toEqual({ 'channel-1': ['status', 'health'], 'webhook-default': ['status'], 'webhook-health': ['health'] });
  });
  it('does not query the store while nothing was written on a database only this process writes, and delivers what is stored next at once', async () => {
    const store = await channelStore();
    const events = new EventRepository(store);
    const reads = vi.spyOn(events, 'maxId');
    const delivered: number[] = [];
    const dispatcher = new EventDispatcher(
      { ...OPTIONS, quiet: true },
      {
        subscriptions: new SubscriptionRepository(store),
        events,
        sinkFor: (channel) => ({ name: channel.id, deliver: async (event) => void delivered.push(event.id) }),
        clock: systemClock,
        random: Math.random,
        logger: capturedLogger().logger,
      },
    );
    const unwatch = store.onInsert('vim_events', () => dispatcher.wake());
    cleanups.push(async () => unwatch());
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    await waitFor('the first passes', () => (reads.mock.calls.length >= 2 ? true : undefined), 3_000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const asleep = reads.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 500)); // ten poll intervals
    expect(reads.mock.calls.length).toBe(asleep);

    const row = { vim_id: 'vim-1', vim_name: 'edge', tenant_id: 'admin', monitor_id: 'm', old_status: 'PENDING', new_status: 'REACHABLE', reason: 'r', detail: '{}', created_at: '2026-01-01 00:00:01.000000', event_type: 'MONITOR' };
    const stored = Date.now();
    await store.db.insertInto('vim_events').values(row).execute();
    await waitFor('the event delivered', () => (delivered.length === 1 ? true : undefined), 3_000);
    expect(Date.now() - stored).toBeLessThan(500);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const asleepAgain = reads.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(reads.mock.calls.length).toBe(asleepAgain);
  });

  it('keeps polling a quiet store while a delivery waits for its retry, and delivers it without a wake-up', async () => {
    const store = await channelStore();
    await store.db.insertInto('vim_events').values({ vim_id: 'vim-1', vim_name: 'edge', tenant_id: 'admin', monitor_id: 'm', old_status: 'PENDING', new_status: 'REACHABLE', reason: 'r', detail: '{}', created_at: tackerTimestamp(new Date()), event_type: 'MONITOR' }).execute();
    await store.db.updateTable('subscriptions').set({ cursor_event_id: 0 }).execute();
    let attempts = 0;
    const dispatcher = new EventDispatcher(
      { ...OPTIONS, quiet: true },
      {
        subscriptions: new SubscriptionRepository(store),
        events: new EventRepository(store),
        sinkFor: (channel) => ({
          name: channel.id,
          deliver: async () => {
            attempts += 1;
            if (attempts === 1) throw new Error('receiver down');
          },
        }),
        clock: systemClock,
        random: () => 0.5,
        logger: capturedLogger().logger,
      },
    );
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    await waitFor('the retry delivered', () => (attempts >= 2 ? true : undefined), 3_000);
    expect(attempts).toBe(2);
  });
  it('on a quiet store, takes over a channel still leased to a previous life when its lease lapses, with nothing stored meanwhile', async () => {
    const store = await channelStore();
    await store.db.insertInto('vim_events').values({ vim_id: 'vim-1', vim_name: 'edge', tenant_id: 'admin', monitor_id: 'm', old_status: 'PENDING', new_status: 'REACHABLE', reason: 'r', detail: '{}', created_at: tackerTimestamp(new Date()), event_type: 'MONITOR' }).execute();
    await store.db.updateTable('subscriptions').set({ cursor_event_id: 0, owner: 'crashed-life', lease_until_ms: Date.now() + 300 }).execute();
    const delivered: number[] = [];
    const dispatcher = new EventDispatcher(
      { ...OPTIONS, quiet: true },
      {
        subscriptions: new SubscriptionRepository(store),
        events: new EventRepository(store),
        sinkFor: (channel) => ({ name: channel.id, deliver: async (event) => void delivered.push(event.id) }),
        clock: systemClock,
        random: Math.random,
        logger: capturedLogger().logger,
      },
    );
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    await waitFor('the event delivered', () => (delivered.length === 1 ? true : undefined), 3_000);
  });
});
