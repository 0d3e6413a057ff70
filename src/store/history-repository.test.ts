/**
 * The stored days of status history (migration 0010), on every dialect:
 * whole days replaced by key, writes fenced by the VIM's current monitor,
 * whole days summed in SQL, hourly detail dropped and old days deleted VIM by
 * VIM in bounded batches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { vimRecord } from '../../test/support/probe-target.js';
import { emptyTotals, type HistoryDay, type PeriodTotals } from '../history/model.js';
import { openStore, type Store } from './database.js';
import { HistoryRepository } from './history-repository.js';
import { migrateToLatest } from './migrate.js';
import { MonitorRepository } from './monitor-repository.js';
import { VimRepository } from './vim-repository.js';

const AT = '2026-12-01 10:00:00.000000';
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function hour(reachableMs: number, p50: number): PeriodTotals {
  return { ...emptyTotals(), reachableMs, probes: { icmp: { checks: 360, failed: 1, p50, p95: p50 * 2, max: p50 * 3 } } };
}

function day(vimId: string, dayNumber: number, reachableMs: number): HistoryDay {
  const hours: Array<PeriodTotals | null> = Array.from({ length: 24 }, (_, index) => (index < 2 ? hour(reachableMs / 2, 0.25 + index) : null));
  return { ...emptyTotals(), vimId, day: dayNumber, reachableMs, conditionChanges: 2, probes: { icmp: { checks: 720, failed: 2, p50: 0.5, p95: 1.5, max: 4.125 } }, hours, updatedAtMs: 1_764_583_200_000 };
}

describe.each(DIALECTS)('status history days, on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let history: HistoryRepository;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 2 });
    await migrateToLatest(store);
    history = new HistoryRepository(store);
    const vims = new VimRepository(store);
    const monitors = new MonitorRepository(store);
    for (const n of [1, 2]) {
      await vims.insert({ ...vimRecord('openstack', 'http://127.0.0.1:5000/v3'), id: id(n), name: `vim-${n}` });
      await monitors.assign(id(n), `monitor-${n}`, 'worker', AT, false);
    }
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('stores a day with its hours and reads it back as written', async () => {
    expect(await history.save([{ monitorId: 'monitor-1', day: day(id(1), 20_000, 7_200_000) }])).toEqual([]);
    const [stored] = await history.read([id(1)], 20_000, 20_000);
    expect(stored).toEqual(day(id(1), 20_000, 7_200_000));
  });

  it('reads days without their hours or probe summary when asked (uptime needs neither)', async () => {
    await history.save([{ monitorId: 'monitor-1', day: day(id(1), 20_000, 7_200_000) }]);
    const [lean] = await history.read([id(1)], 20_000, 20_000, { hours: false, probes: false });
    expect(lean).toEqual({ ...day(id(1), 20_000, 7_200_000), hours: null, probes: {} });
  });

  it('replaces the stored day when the same VIM and day are saved again', async () => {
    await history.save([{ monitorId: 'monitor-1', day: day(id(1), 20_000, 3_600_000) }]);
    const stored = await history.read([id(1)], 19_999, 20_001);
    expect(stored.map((row) => row.reachableMs)).toEqual([3_600_000]);
  });

  it('does not write a day whose VIM has another monitor by now, and says which', async () => {
    const fenced = await history.save([
      { monitorId: 'monitor-old', day: day(id(2), 20_000, 1_000) },
      { monitorId: 'monitor-1', day: day(id(1), 20_001, 2_000) },
    ]);
    expect(fenced).toEqual([id(2)]);
    expect(await history.read([id(2)], 0, 30_000)).toEqual([]);
    expect((await history.read([id(1)], 20_001, 20_001))[0]?.reachableMs).toBe(2_000);
  });

  it('sums whole days per VIM in one statement, with the latest write among them', async () => {
    await history.save([20_010, 20_011, 20_012].map((dayNumber, index) => ({ monitorId: 'monitor-1', day: { ...day(id(1), dayNumber, 1_000 * (index + 1)), pendingMs: 5, updatedAtMs: 1_000 + index } })));
    const sums = await history.sums([id(1), id(2)], 20_010, 20_011);
    expect([...sums.keys()]).toEqual([id(1)]);
    expect(sums.get(id(1))).toEqual({
      totals: { reachableMs: 3_000, unreachableMs: 0, pendingMs: 10, maintenanceReachableMs: 0, maintenanceUnreachableMs: 0, conditionChanges: 4, probes: {} },
      lastWriteMs: 1_001,
    });
  });

  it('drops hourly detail before a day VIM by VIM, in steps of a batch of VIMs, keeping the daily totals', async () => {
    await history.save([10, 11, 12].map((offset) => ({ monitorId: 'monitor-2', day: day(id(2), 19_000 + offset, 5_000) })));
    expect(await history.dropHours(19_012, 1)).toEqual({ changed: 0, lastVimId: id(1), more: true });
    expect(await history.dropHours(19_012, 1, id(1))).toEqual({ changed: 2, lastVimId: id(2), more: true });
    expect(await history.dropHours(19_012, 1, id(2))).toEqual({ changed: 0, lastVimId: id(2), more: false });
    expect(await history.dropHours(19_012, 10)).toEqual({ changed: 0, lastVimId: id(2), more: false });
    const rows = await history.read([id(2)], 19_010, 19_012);
    expect(rows.map((row) => [row.day, row.hours === null, row.reachableMs])).toEqual([
      [19_010, true, 5_000],
      [19_011, true, 5_000],
      [19_012, false, 5_000],
    ]);
  });

  it('deletes days before a day VIM by VIM, from both tables, and leaves the later ones', async () => {
    expect(await history.deleteBefore(19_012, 1)).toEqual({ changed: 0, lastVimId: id(1), more: true });
    expect(await history.deleteBefore(19_012, 1, id(1))).toEqual({ changed: 2, lastVimId: id(2), more: true });
    expect(await history.deleteBefore(19_012, 1, id(2))).toEqual({ changed: 0, lastVimId: id(2), more: false });
    expect((await history.read([id(2)], 0, 30_000)).map((row) => row.day)).toEqual([19_012]);
    const hours = await store.db.selectFrom('vim_history_hours').select('day').where('vim_id', '=', id(2)).execute();
    expect(hours.map((row) => Number(row.day))).toEqual([19_012]);
  });

  it('deletes all history of a VIM that no longer exists (a write that raced its delete) in the same walk', async () => {
    const orphan = id(3);
    await store.db.insertInto('vim_history').values({ ...rowOf(orphan, 20_000) }).execute();
    await store.db.insertInto('vim_history_hours').values({ vim_id: orphan, day: 20_000, hours: Buffer.from([1]) }).execute();
    const step = await history.deleteBefore(0, 10);
    expect(step).toEqual({ changed: 1, lastVimId: orphan, more: false });
    expect(await history.read([orphan], 0, 30_000)).toEqual([]);
    expect(await store.db.selectFrom('vim_history_hours').select('day').where('vim_id', '=', orphan).execute()).toEqual([]);
    expect((await history.read([id(1), id(2)], 0, 30_000)).length).toBeGreaterThan(0);
  });
});

function rowOf(vimId: string, dayNumber: number) {
  return {
    vim_id: vimId, day: dayNumber, reachable_ms: 1, unreachable_ms: 0, pending_ms: 0, maintenance_reachable_ms: 0, maintenance_unreachable_ms: 0,
    condition_changes: 0, probes: '{}', updated_at_ms: 0,
  };
}
