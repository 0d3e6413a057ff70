/**
 * The history recorder in memory, with a hand-moved clock and a store that
 * keeps what it is given: attribution of the time between rounds, hours and
 * days, stall gaps, maintenance, percentiles, condition changes, stored days
 * carried on, outages kept, fencing.
 */
import { describe, expect, it } from 'vitest';
import { capturedLogger, LEVEL } from '../../test/support/log-capture.js';
import { DatabaseUnavailableError } from '../errors.js';
import type { MaintenanceWindow } from '../maintenance/window.js';
import type { OwnedHistoryDay } from '../store/history-repository.js';
import type { VimStatus } from '../vims/model.js';
import { DAY_MS, HOUR_MS, type HistoryDay } from './model.js';
import { decodeHours } from './codec.js';
import { HistoryRecorder, type HistoryStore } from './recorder.js';

const DAY = 20_000; // 2024-10-04
const T0 = DAY * DAY_MS + 10 * HOUR_MS; // 10:00 UTC
const TIMING = { interval: 10, timeout: 3 };

class MemoryStore implements HistoryStore {
  readonly rows = new Map<string, HistoryDay>();
  /** VIM id → its monitor id (what vim_monitors says); a save by another monitor is fenced. */
  readonly owners = new Map<string, string>();
  outage = false;
  saves = 0;
  reads = 0;

  async read(vimIds: readonly string[], fromDay: number, toDay: number): Promise<HistoryDay[]> {
    if (this.outage) throw new DatabaseUnavailableError();
    this.reads += 1;
    return [...this.rows.values()].filter((row) => vimIds.includes(row.vimId) && row.day >= fromDay && row.day <= toDay);
  }

  async save(days: readonly OwnedHistoryDay[]): Promise<string[]> {
    if (this.outage) throw new DatabaseUnavailableError();
    this.saves += 1;
    const fenced: string[] = [];
    for (const { monitorId, day } of days) {
      if ((this.owners.get(day.vimId) ?? monitorId) !== monitorId) fenced.push(day.vimId);
      // As the real store does: hours handed over encoded are decoded on the way back.
      else this.rows.set(`${day.vimId}/${day.day}`, structuredClone({ ...day, hours: Buffer.isBuffer(day.hours) ? decodeHours(day.hours) : (day.hours as HistoryDay['hours']) }));
    }
    return fenced;
  }

  day(vimId: string, day = DAY): HistoryDay {
    const row = this.rows.get(`${vimId}/${day}`);
    if (!row) throw new Error(`no stored day ${day} for ${vimId}`);
    return row;
  }
}

/** A stored day of 60 s reachable in hour 9 (another owner's). */
function storedReachable(vimId: string): HistoryDay {
  const hours: HistoryDay['hours'] = Array.from({ length: 24 }, () => null);
  hours[9] = { reachableMs: 60_000, unreachableMs: 0, pendingMs: 0, maintenanceReachableMs: 0, maintenanceUnreachableMs: 0, conditionChanges: 0, probes: {} };
  return { ...hours[9], vimId, day: 0, hours, updatedAtMs: 0 };
}

function setup(options: { windows?: MaintenanceWindow[]; batchSize?: number } = {}) {
  let nowMs = T0;
  const clock = { now: () => new Date(nowMs) };
  const store = new MemoryStore();
  const log = capturedLogger();
  const windows = options.windows ?? [];
  const calendar = {
    version: 1,
    openWindows: (atMs: number) => windows.filter((window) => window.schedule.kind === 'once' && window.schedule.startMs <= atMs && atMs < (window.schedule.endMs ?? Infinity)),
    nextChange: (atMs: number) => {
      let next: number | undefined;
      for (const window of windows) {
        if (window.schedule.kind !== 'once') continue;
        for (const edge of [window.schedule.startMs, window.schedule.endMs ?? Infinity]) if (edge > atMs && edge !== Infinity && (next === undefined || edge < next)) next = edge;
      }
      return next;
    },
  };
  const recorder = new HistoryRecorder(
    { flushIntervalMs: 60_000, hourEndGraceMs: 13_000, ...(options.batchSize !== undefined && { batchSize: options.batchSize }) },
    { store, clock, logger: log.logger, maintenance: calendar },
  );
  const vim = (vimId = 'vim-1', monitorId = 'monitor-1', tenantId = 'tenant-a') => recorder.track(vimId, monitorId, tenantId);
  return {
    store,
    recorder,
    log,
    vim,
    at: (ms: number) => (nowMs = ms),
    /** A round of one icmp check ending at `atMs`, the VIM having held `held` since the previous one. */
    round(handle: ReturnType<typeof vim>, atMs: number, held: VimStatus, check: { ok?: boolean; latencyMs?: number; changed?: boolean } = {}) {
      nowMs = atMs;
      handle.checked('icmp', check.ok ?? held !== 'UNREACHABLE', check.latencyMs ?? 1, atMs);
      handle.roundEnded(held, atMs, TIMING, check.changed ?? false);
    },
  };
}

describe('status history recorder', () => {
  it('lets timers and I/O run between the batches of a flush, even when the database answers in microtasks', async () => {
    const { recorder, vim, round } = setup({ batchSize: 2 });
    for (let i = 0; i < 6; i++) {
      const handle = vim(`vim-${i}`, `monitor-${i}`);
      round(handle, T0, 'PENDING');
      round(handle, T0 + 10_000, 'REACHABLE');
    }
    const order: string[] = [];
    setImmediate(() => order.push('other work'));
    await recorder.flush();
    order.push('flush done');
    expect(order).toEqual(['other work', 'flush done']);
  });

  it('reads what is stored before a first write a hundred VIMs at a time, and carries every VIM on', async () => {
    const { store, recorder, vim, round } = setup();
    for (let i = 0; i < 250; i++) store.rows.set(`vim-${i}/${Math.floor(T0 / DAY_MS)}`, { ...storedReachable(`vim-${i}`), day: Math.floor(T0 / DAY_MS) });
    for (let i = 0; i < 250; i++) {
      const handle = vim(`vim-${i}`, `monitor-${i}`);
      round(handle, T0, 'PENDING');
      round(handle, T0 + 10_000, 'REACHABLE');
    }
    await recorder.flush();
    expect(store.reads).toBe(3);
    expect(store.day('vim-0').reachableMs).toBe(60_000 + 10_000);
    expect(store.day('vim-249').reachableMs).toBe(60_000 + 10_000);
  });

  it("attributes the time between two rounds' ends to the status held before the second verdict; the first round only starts the clock", async () => {
    const { store, recorder, vim, round } = setup();
    const handle = vim();
    round(handle, T0, 'PENDING');
    round(handle, T0 + 10_000, 'PENDING');
    round(handle, T0 + 20_000, 'REACHABLE');
    round(handle, T0 + 30_000, 'REACHABLE');
    round(handle, T0 + 40_000, 'UNREACHABLE');
    await recorder.flush();
    const day = store.day('vim-1');
    expect([day.pendingMs, day.reachableMs, day.unreachableMs]).toEqual([10_000, 20_000, 10_000]);
    expect(day.hours?.[10]).toMatchObject({ pendingMs: 10_000, reachableMs: 20_000, unreachableMs: 10_000 });
    expect(day.hours?.filter((hour) => hour !== null)).toHaveLength(1);
  });

  it('splits a stretch across the end of an hour and the end of a UTC day', async () => {
    const { store, recorder, vim, round } = setup();
    const handle = vim();
    const midnight = (DAY + 1) * DAY_MS;
    round(handle, midnight - HOUR_MS - 4_000, 'REACHABLE');
    round(handle, midnight - HOUR_MS + 6_000, 'REACHABLE'); // 4 s in 22:xx, 6 s in 23:xx
    for (let at = midnight - HOUR_MS + 15_000; at <= midnight - 3_000; at += 9_000) round(handle, at, 'REACHABLE');
    round(handle, midnight + 7_000, 'UNREACHABLE'); // 3 s on the old day, 7 s on the new one
    await recorder.flush();
    const before = store.day('vim-1', DAY);
    expect(before.hours?.[22]?.reachableMs).toBe(4_000);
    expect(before.hours?.[23]).toMatchObject({ reachableMs: 6_000 + HOUR_MS - 9_000, unreachableMs: 3_000 });
    const after = store.day('vim-1', DAY + 1);
    expect(after.hours?.[0]).toMatchObject({ reachableMs: 0, unreachableMs: 7_000 });
    expect(after.reachableMs + after.unreachableMs).toBe(7_000);
  });

  it('counts a gap longer than two intervals and a timeout as unknown (nothing), and carries on after it', async () => {
    const { store, recorder, vim, round } = setup();
    const handle = vim();
    round(handle, T0, 'REACHABLE');
    round(handle, T0 + 23_000, 'REACHABLE'); // 2 × 10 s + 3 s: still a round late
    round(handle, T0 + 23_000 + 23_001, 'REACHABLE'); // a stalled loop
    round(handle, T0 + 56_001, 'REACHABLE');
    await recorder.flush();
    expect(store.day('vim-1').reachableMs).toBe(23_000 + 10_000);
  });

  it('counts the part of reachable and unreachable time inside a maintenance window covering the VIM, and no other VIM', async () => {
    const window: MaintenanceWindow = {
      id: 'w1',
      tenantId: 'tenant-a',
      reason: 'upgrade',
      scope: { kind: 'vims', vimIds: ['vim-1'] },
      schedule: { kind: 'once', startMs: T0 + 5_000, endMs: T0 + 25_000 } as MaintenanceWindow['schedule'],
      createdAt: '2024-10-04 09:00:00.000000',
    };
    const { store, recorder, vim, round } = setup({ windows: [window] });
    const inside = vim('vim-1', 'm1');
    const outside = vim('vim-2', 'm2');
    for (const handle of [inside, outside]) {
      round(handle, T0, 'REACHABLE');
      round(handle, T0 + 10_000, 'REACHABLE');
      round(handle, T0 + 20_000, 'UNREACHABLE');
      round(handle, T0 + 30_000, 'UNREACHABLE');
    }
    await recorder.flush();
    expect(store.day('vim-1')).toMatchObject({ reachableMs: 10_000, unreachableMs: 20_000, maintenanceReachableMs: 5_000, maintenanceUnreachableMs: 15_000 });
    expect(store.day('vim-2')).toMatchObject({ maintenanceReachableMs: 0, maintenanceUnreachableMs: 0 });
  });

  it('reports latency p50 and p95 within 10 % from the hour histogram, the max exactly, and checks and failures per probe', async () => {
    const { store, recorder, vim, at } = setup();
    const handle = vim();
    // 100 checks: latencies 1..100 ms, every 10th failed.
    for (let i = 1; i <= 100; i++) {
      handle.checked('icmp', i % 10 !== 0, i, T0 + i * 1_000);
      handle.checked('api', true, 250, T0 + i * 1_000);
      handle.roundEnded('REACHABLE', T0 + i * 1_000, TIMING, false);
    }
    at(T0 + 200_000);
    await recorder.flush();
    const icmp = store.day('vim-1').hours?.[10]?.probes.icmp;
    expect(icmp).toMatchObject({ checks: 100, failed: 10, max: 100 });
    expect(icmp!.p50! / 50).toBeGreaterThan(0.9);
    expect(icmp!.p50! / 50).toBeLessThan(1.1);
    expect(icmp!.p95! / 95).toBeGreaterThan(0.9);
    expect(icmp!.p95! / 95).toBeLessThan(1.1);
    const api = store.day('vim-1').probes.api;
    expect(api).toMatchObject({ checks: 100, failed: 0, max: 250 });
    expect(api!.p50).toBeLessThanOrEqual(250);
    expect(api!.p50! / 250).toBeGreaterThan(0.9);
  });

  it("closes an hour's percentiles when the next hour's checks come, and gives the day their check-weighted mean", async () => {
    const { store, recorder, vim, round } = setup();
    const handle = vim();
    for (let i = 0; i < 30; i++) round(handle, T0 + i * 10_000, 'REACHABLE', { latencyMs: 10 }); // hour 10: 30 checks at 10 ms
    for (let i = 0; i < 10; i++) round(handle, T0 + HOUR_MS + i * 10_000, 'REACHABLE', { latencyMs: 100 }); // hour 11: 10 at 100 ms
    await recorder.flush();
    const day = store.day('vim-1');
    const h10 = day.hours?.[10]?.probes.icmp?.p50 ?? 0;
    const h11 = day.hours?.[11]?.probes.icmp?.p50 ?? 0;
    expect(Math.abs(h10 / 10 - 1)).toBeLessThan(0.1);
    expect(Math.abs(h11 / 100 - 1)).toBeLessThan(0.1);
    expect(day.probes.icmp?.p50).toBeCloseTo((30 * h10 + 10 * h11) / 40, 3);
    expect(day.probes.icmp).toMatchObject({ checks: 40, max: 100 });
  });

  it('counts condition changes per hour', async () => {
    const { store, recorder, vim, round } = setup();
    const handle = vim();
    round(handle, T0, 'REACHABLE', { changed: true });
    round(handle, T0 + 10_000, 'REACHABLE');
    round(handle, T0 + 20_000, 'REACHABLE', { changed: true });
    round(handle, T0 + HOUR_MS, 'REACHABLE', { changed: true });
    await recorder.flush();
    const day = store.day('vim-1');
    expect([day.hours?.[10]?.conditionChanges, day.hours?.[11]?.conditionChanges, day.conditionChanges]).toEqual([2, 1, 3]);
  });

  it("reads the stored day before its first write and carries it on hour by hour, so a previous owner's hours stay", async () => {
    const { store, recorder, vim, round } = setup();
    const previous = setup();
    const old = previous.vim('vim-1', 'monitor-old');
    previous.round(old, T0 - HOUR_MS, 'REACHABLE', { latencyMs: 10 });
    previous.round(old, T0 - HOUR_MS + 10_000, 'REACHABLE', { latencyMs: 10 });
    previous.round(old, T0 + 20_000, 'UNREACHABLE', { latencyMs: 10, ok: false, changed: true }); // stall → unknown
    previous.round(old, T0 + 30_000, 'UNREACHABLE', { latencyMs: 10, ok: false });
    await previous.recorder.flush();
    for (const [key, row] of previous.store.rows) store.rows.set(key, row);

    const handle = vim('vim-1', 'monitor-new');
    round(handle, T0 + 40_000, 'UNREACHABLE', { latencyMs: 30, ok: true });
    round(handle, T0 + 50_000, 'UNREACHABLE', { latencyMs: 30, ok: true });
    await recorder.flush();
    expect(store.reads).toBe(1);
    const day = store.day('vim-1');
    expect(day.hours?.[9]).toMatchObject({ reachableMs: 10_000 });
    expect(day.hours?.[10]).toMatchObject({ unreachableMs: 20_000, conditionChanges: 1 });
    expect(day.hours?.[10]?.probes.icmp).toMatchObject({ checks: 4, failed: 2, max: 30 });
    // The open hour's p50 weighs the stored 2 checks at ~10 ms with the 2 own at ~30 ms.
    expect(day.hours?.[10]?.probes.icmp?.p50).toBeGreaterThan(18);
    expect(day.hours?.[10]?.probes.icmp?.p50).toBeLessThan(22);
    round(handle, T0 + 60_000, 'REACHABLE');
    await recorder.flush();
    expect(store.reads).toBe(1);
    expect(store.day('vim-1')).toMatchObject({ reachableMs: 20_000, unreachableMs: 20_000 });
  });

  it('keeps the data through a database outage, warns once, and writes it all when the database is back', async () => {
    const { store, recorder, vim, round, log } = setup();
    const handle = vim();
    round(handle, T0, 'REACHABLE');
    store.outage = true;
    for (let i = 1; i <= 30; i++) {
      round(handle, T0 + i * 10_000, 'REACHABLE');
      await recorder.flush();
    }
    expect(store.rows.size).toBe(0);
    expect(log.lines.filter((line) => line.level === LEVEL.warn && line.msg.includes('history'))).toHaveLength(1);
    store.outage = false;
    await recorder.flush();
    expect(store.day('vim-1').reachableMs).toBe(300_000);
  });

  it("drops a VIM's history when its day is fenced off by another monitor, and ignores that monitor's later rounds", async () => {
    const { store, recorder, vim, round } = setup();
    const handle = vim('vim-1', 'monitor-1');
    store.owners.set('vim-1', 'monitor-elsewhere');
    round(handle, T0, 'REACHABLE');
    round(handle, T0 + 10_000, 'REACHABLE');
    await recorder.flush();
    expect(store.rows.size).toBe(0);
    expect(recorder.stats().vims).toBe(0);
    round(handle, T0 + 20_000, 'REACHABLE');
    expect(recorder.stats().vims).toBe(0);
  });

  it("retries a fenced write while a replacement monitor's id is on its way to the store, instead of dropping it", async () => {
    const { store, recorder, vim, round } = setup();
    store.owners.set('vim-1', 'monitor-1');
    round(vim('vim-1', 'monitor-1'), T0, 'REACHABLE');
    round(vim('vim-1', 'monitor-1'), T0 + 10_000, 'REACHABLE');
    await recorder.flush();
    const replacement = vim('vim-1', 'monitor-2');
    round(replacement, T0 + 20_000, 'REACHABLE');
    await recorder.flush(); // the store still names monitor-1
    store.owners.set('vim-1', 'monitor-2');
    await recorder.flush();
    expect(store.day('vim-1').reachableMs).toBe(20_000);
  });

  it('writes only VIMs with news since the last flush', async () => {
    const { store, recorder, vim, round } = setup();
    const a = vim('vim-a', 'ma');
    const b = vim('vim-b', 'mb');
    round(a, T0, 'REACHABLE');
    round(b, T0, 'REACHABLE');
    round(a, T0 + 10_000, 'REACHABLE');
    round(b, T0 + 10_000, 'REACHABLE');
    await recorder.flush();
    const before = store.day('vim-b').updatedAtMs;
    round(a, T0 + 20_000, 'REACHABLE');
    await recorder.flush();
    expect(store.day('vim-a').reachableMs).toBe(20_000);
    expect(store.day('vim-b').updatedAtMs).toBe(before);
  });

  it('writes a released VIM once more and forgets it; a forgotten one is not written', async () => {
    const { store, recorder, vim, round } = setup();
    const a = vim('vim-a', 'ma');
    const b = vim('vim-b', 'mb');
    for (const handle of [a, b]) {
      round(handle, T0, 'REACHABLE');
      round(handle, T0 + 10_000, 'REACHABLE');
    }
    recorder.forget('vim-b');
    await recorder.release(['vim-a']);
    expect(store.day('vim-a').reachableMs).toBe(10_000);
    expect(store.rows.has(`vim-b/${DAY}`)).toBe(false);
    expect(recorder.stats().vims).toBe(0);
  });

  it('writes everything on close, ignores rounds afterwards, and close and destroy are idempotent', async () => {
    const { store, recorder, vim, round } = setup();
    const handle = vim();
    round(handle, T0, 'REACHABLE');
    round(handle, T0 + 10_000, 'REACHABLE');
    await Promise.all([recorder.close(), recorder.close()]);
    expect(store.day('vim-1').reachableMs).toBe(10_000);
    round(handle, T0 + 20_000, 'REACHABLE');
    recorder.destroy();
    recorder.destroy();
    await recorder.flush();
    expect(store.saves).toBe(1);
  });

  it('writes nothing after destroy', async () => {
    const { store, recorder, vim, round } = setup();
    const handle = vim();
    round(handle, T0, 'REACHABLE');
    round(handle, T0 + 10_000, 'REACHABLE');
    recorder.destroy();
    await recorder.close();
    expect(store.saves).toBe(0);
  });

  it('flushes every flush interval and shortly after each hour ends, on its timers', async () => {
    const timers: Array<{ callback: () => void; ms: number; cleared: boolean }> = [];
    const timer = {
      set: (callback: () => void, ms: number) => {
        const entry = { callback, ms, cleared: false };
        timers.push(entry);
        return entry;
      },
      clear: (handle: unknown) => void ((handle as { cleared: boolean }).cleared = true),
    };
    const store = new MemoryStore();
    let nowMs = T0 + 50 * 60_000; // 10:50
    const recorder = new HistoryRecorder({ flushIntervalMs: 60_000, hourEndGraceMs: 13_000 }, { store, clock: { now: () => new Date(nowMs) }, logger: capturedLogger().logger, timer });
    recorder.start();
    expect(timers.map((entry) => entry.ms).sort((a, b) => a - b)).toEqual([60_000, 10 * 60_000 + 13_000]);
    const handle = recorder.track('vim-1', 'monitor-1', 'tenant-a');
    handle.roundEnded('REACHABLE', nowMs, TIMING, false);
    nowMs += 10_000;
    handle.roundEnded('REACHABLE', nowMs, TIMING, false);
    nowMs = T0 + HOUR_MS + 13_000;
    timers.find((entry) => entry.ms === 10 * 60_000 + 13_000)!.callback();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(store.day('vim-1').reachableMs).toBe(10_000);
    const nextHourEnd = timers.find((entry) => entry.ms === HOUR_MS); // armed again for the next hour's end
    expect(nextHourEnd).toBeDefined();
    await recorder.close();
    expect(nextHourEnd?.cleared).toBe(true);
  });
});
