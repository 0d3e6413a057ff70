/**
 * The retention job on every dialect: old events and history go in batches;
 * an event a delivery channel has not passed, one a dead letter names, and
 * the newest event stay; nothing newer than the retention goes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { openStore, type Store } from '../store/database.js';
import { EventRepository } from '../store/event-repository.js';
import { migrateToLatest } from '../store/migrate.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import type { Timer } from '../time/periodic-task.js';
import { encodeHours } from './codec.js';
import { DAY_MS, dayOf, emptyTotals } from './model.js';
import { HistoryRepository } from '../store/history-repository.js';
import { VimRepository } from '../store/vim-repository.js';
import { vimRecord } from '../../test/support/probe-target.js';
import { HistoryRetention, type HistoryPruneKind, type RetentionSettings } from './retention.js';

const NOW = Date.UTC(2026, 11, 1, 10, 30);
const TODAY = dayOf(NOW);
const clock: Clock = { now: () => new Date(NOW) };
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const settings = (overrides: Partial<RetentionSettings> = {}): RetentionSettings => ({
  rawEventsDays: 30,
  hourlyDays: 90,
  dailyDays: 730,
  pruneIntervalMs: 3_600_000,
  pruneBatch: 10,
  ...overrides,
});
const daysAgo = (days: number) => tackerTimestamp(new Date(NOW - days * DAY_MS));

describe.each(DIALECTS)('pruning events and history, on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let events: EventRepository;
  let history: HistoryRepository;
  let vims: VimRepository;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 2 });
    await migrateToLatest(store);
    events = new EventRepository(store);
    history = new HistoryRepository(store);
    vims = new VimRepository(store);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    for (const table of ['dead_letters', 'subscriptions', 'vim_events', 'vim_history_hours', 'vim_history', 'vims'] as const) await store.db.deleteFrom(table).execute();
  });

  /** Stores events of these ages (days), oldest first; returns their ids. */
  async function storeEvents(ages: number[]): Promise<number[]> {
    for (const age of ages) {
      await store.db
        .insertInto('vim_events')
        .values({ vim_id: 'vim', tenant_id: 't', monitor_id: 'm', event_type: 'MONITOR', old_status: 'PENDING', new_status: 'REACHABLE', reason: '', detail: '{}', created_at: daysAgo(age) })
        .execute();
    }
    return (await store.db.selectFrom('vim_events').select('id').orderBy('id').execute()).map((row) => Number(row.id)).slice(-ages.length);
  }
  const remainingEvents = async () => (await store.db.selectFrom('vim_events').select('id').orderBy('id').execute()).map((row) => Number(row.id));
  async function addChannel(id: string, cursor: number): Promise<void> {
    await store.db.insertInto('subscriptions').values({ id, kind: 'webhook', tenant_id: 't', callback_url: 'http://127.0.0.1:9/', secret: '', filter: '{}', created_at: daysAgo(60), cursor_event_id: cursor }).execute();
  }
  function retention(overrides: Partial<RetentionSettings> = {}, counted?: Record<string, number>, historySteps: Pick<HistoryRepository, 'dropHours' | 'deleteBefore'> = history) {
    const calls: Array<{ kind: string; deleted: number }> = [];
    const spied = {
      prune: async (before: string, limit: number, afterId?: number) => {
        const result = await events.prune(before, limit, afterId);
        calls.push({ kind: 'events', deleted: result.deleted });
        return result;
      },
      channelsBehind: (before: string) => events.channelsBehind(before),
    };
    const metrics = { backgroundError: () => undefined, historyPruned: (kind: HistoryPruneKind, n: number) => counted && (counted[kind] = (counted[kind] ?? 0) + n) };
    return { job: new HistoryRetention(settings(overrides), { events: spied, history: historySteps, clock, logger: quiet, metrics }), calls };
  }

  it('deletes events older than raw_events_days in batches of prune_batch, and none newer', async () => {
    const old = await storeEvents(Array.from({ length: 25 }, () => 40));
    const recent = await storeEvents([29, 10, 0]);
    const counted: Record<string, number> = {};
    const { job, calls } = retention({}, counted);
    expect(await job.pass()).toEqual({ events: 25, hours: 0, days: 0 });
    expect(calls.map((call) => call.deleted)).toEqual([10, 10, 5]);
    expect(await remainingEvents()).toEqual(recent);
    expect(counted).toEqual({ events: 25, hours: 0, days: 0 });
    expect(old).toHaveLength(25);
  });

  it('never deletes an event a delivery channel has not passed yet, and deletes it once passed', async () => {
    const old = await storeEvents(Array.from({ length: 12 }, () => 40));
    await storeEvents([1]);
    await addChannel('behind', old[4] as number);
    await addChannel('ahead', old[11] as number);
    const { job } = retention();
    expect((await job.pass()).events).toBe(5);
    expect((await remainingEvents()).slice(0, 7)).toEqual(old.slice(5));
    // The undelivered old event survives every pass until its channel moves on.
    expect((await job.pass()).events).toBe(0);
    expect(await events.channelsBehind(daysAgo(30))).toEqual([{ id: 'behind', kind: 'webhook', cursorEventId: old[4] }]);
    await store.db.updateTable('subscriptions').set({ cursor_event_id: old[11] as number }).where('id', '=', 'behind').execute();
    expect((await job.pass()).events).toBe(7);
  });

  it('keeps old events a dead letter names, past a full batch of them', async () => {
    const old = await storeEvents(Array.from({ length: 15 }, () => 40));
    await storeEvents([0]);
    await addChannel('webhook', old[14] as number);
    for (const eventId of old.slice(0, 11)) {
      await store.db.insertInto('dead_letters').values({ subscription_id: 'webhook', event_id: eventId, attempts: 3, last_error: 'HTTP 500', dead_at: daysAgo(40) }).execute();
    }
    const { job } = retention();
    expect((await job.pass()).events).toBe(4);
    expect((await remainingEvents()).slice(0, 11)).toEqual(old.slice(0, 11));
  });

  it('keeps the newest event even when it is old, so that event ids never go back', async () => {
    const old = await storeEvents([50, 45, 40]);
    const { job } = retention();
    expect((await job.pass()).events).toBe(2);
    expect(await remainingEvents()).toEqual([old[2]]);
  });

  it('drops the hourly detail before hourly_days and deletes days before daily_days, prune_batch VIMs a step, nothing newer', async () => {
    const hours = encodeHours(Array.from({ length: 24 }, () => ({ ...emptyTotals(), reachableMs: 3_600_000 })));
    const row = (vimId: string, day: number) => ({
      vim_id: vimId, day, reachable_ms: 86_400_000, unreachable_ms: 0, pending_ms: 0, maintenance_reachable_ms: 0, maintenance_unreachable_ms: 0,
      condition_changes: 0, probes: '{}', updated_at_ms: (day + 1) * DAY_MS,
    });
    const ages = [800, 731, 730, 400, 91, 90, 1];
    const vimIds = ['a', 'b', 'c', 'd'].map((letter) => `00000000-0000-4000-8000-00000000000${letter}`);
    for (const vimId of vimIds) {
      await vims.insert({ ...vimRecord('openstack', 'http://127.0.0.1:5000/v3'), id: vimId, name: vimId });
      await store.db.insertInto('vim_history').values(ages.map((age) => row(vimId, TODAY - age))).execute();
      await store.db.insertInto('vim_history_hours').values(ages.map((age) => ({ vim_id: vimId, day: TODAY - age, hours }))).execute();
    }
    const counted: Record<string, number> = {};
    const steps: string[] = [];
    const spied = {
      dropHours: async (before: number, limit: number, after?: string) => (steps.push(`hours after ${after?.slice(-1) ?? '-'}`), history.dropHours(before, limit, after)),
      deleteBefore: async (before: number, limit: number, after?: string) => (steps.push(`days after ${after?.slice(-1) ?? '-'}`), history.deleteBefore(before, limit, after)),
    };
    const { job } = retention({ pruneBatch: 3 }, counted, spied);
    expect(await job.pass()).toEqual({ events: 0, hours: 4 * 5, days: 4 * 2 });
    // prune_batch counts VIMs for history: 4 VIMs are two steps of each kind.
    expect(steps).toEqual(['hours after ', 'hours after c', 'days after ', 'days after c']);
    const left = await store.db.selectFrom('vim_history').select('day').where('vim_id', '=', vimIds[0] as string).orderBy('day').execute();
    const withHours = await store.db.selectFrom('vim_history_hours').select('day').where('vim_id', '=', vimIds[0] as string).orderBy('day').execute();
    expect(left.map((entry) => TODAY - Number(entry.day))).toEqual([730, 400, 91, 90, 1]);
    expect(withHours.map((entry) => TODAY - Number(entry.day))).toEqual([90, 1]);
    expect(counted).toEqual({ events: 0, hours: 20, days: 8 });
    expect(await job.pass()).toEqual({ events: 0, hours: 0, days: 0 });
  });

  it('lets two workers prune at once without removing anything twice or anything it should keep', async () => {
    await storeEvents(Array.from({ length: 40 }, () => 40));
    const recent = await storeEvents([2, 1]);
    const [one, two] = [retention().job, retention().job];
    const [first, second] = await Promise.all([one.pass(), two.pass()]);
    expect(first.events + second.events).toBe(40);
    expect(await remainingEvents()).toEqual(recent);
  });
});

describe('the retention schedule', () => {
  function manualTimer() {
    const pending: Array<{ callback: () => void; ms: number }> = [];
    const timer: Timer = {
      set: (callback, ms) => {
        const entry = { callback, ms };
        pending.push(entry);
        return entry;
      },
      clear: (handle) => {
        const index = pending.indexOf(handle as (typeof pending)[number]);
        if (index >= 0) pending.splice(index, 1);
      },
    };
    return { timer, pending };
  }
  const stubs = (passes: string[], release?: Promise<void>) => ({
    events: {
      prune: async () => {
        passes.push('events');
        await release;
        return { deleted: 0, lastId: 0, more: false };
      },
      channelsBehind: async () => [],
    },
    history: { dropHours: async () => ({ changed: 0, lastVimId: '', more: false }), deleteBefore: async () => ({ changed: 0, lastVimId: '', more: false }) },
  });

  it('runs its first pass at a random point of the first interval, then every prune_interval', async () => {
    const { timer, pending } = manualTimer();
    const passes: string[] = [];
    const job = new HistoryRetention(settings(), { ...stubs(passes), clock, logger: quiet, timer, random: () => 0.25 });
    job.start();
    expect(pending.map((entry) => entry.ms)).toEqual([900_000]);
    pending.shift()?.callback();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(passes).toEqual(['events']);
    expect(pending.map((entry) => entry.ms)).toEqual([3_600_000]);
    await job.close();
    expect(pending).toEqual([]);
  });

  it('closes gracefully after the batch in flight, and close and destroy are idempotent', async () => {
    const { timer, pending } = manualTimer();
    let finish: () => void = () => undefined;
    const release = new Promise<void>((resolve) => (finish = resolve));
    const passes: string[] = [];
    const job = new HistoryRetention(settings(), { ...stubs(passes, release), clock, logger: quiet, timer, random: () => 0 });
    job.start();
    pending.shift()?.callback();
    let closed = false;
    const closing = job.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(false);
    finish();
    await closing;
    expect(job.close()).toBe(job.close());
    await job.destroy();
    await job.destroy();
    expect(pending).toEqual([]);
  });
});
