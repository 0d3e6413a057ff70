import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, emptyTotals, type HistoryDay, type PeriodTotals } from './model.js';
import { bucketCount, buckets, indexDays, measure, observedEnd, uptimeOf, windowFigures, type ReadingContext } from './uptime.js';

const MINUTE = 60_000;
/** 2026-11-01, day number D. */
const D = Date.UTC(2026, 10, 1) / DAY_MS;
const at = (day: number, hours: number, minutes = 0): number => day * DAY_MS + hours * HOUR_MS + minutes * MINUTE;

const up = (ms: number, extra: Partial<PeriodTotals> = {}): PeriodTotals => ({ ...emptyTotals(), reachableMs: ms, ...extra });
const down = (ms: number, extra: Partial<PeriodTotals> = {}): PeriodTotals => ({ ...emptyTotals(), unreachableMs: ms, ...extra });

/** A stored day from its 24 hours (totals summed), last written at `updatedAtMs` (default: the end of the day). */
function storedDay(day: number, hours: Array<PeriodTotals | null>, updatedAtMs = at(day + 1, 0)): HistoryDay {
  const totals = emptyTotals();
  for (const hour of hours) {
    if (!hour) continue;
    totals.reachableMs += hour.reachableMs;
    totals.unreachableMs += hour.unreachableMs;
    totals.pendingMs += hour.pendingMs;
    totals.maintenanceReachableMs += hour.maintenanceReachableMs;
    totals.maintenanceUnreachableMs += hour.maintenanceUnreachableMs;
    totals.conditionChanges += hour.conditionChanges;
  }
  return { ...totals, probes: hours.find((hour) => hour)?.probes ?? {}, vimId: 'vim-1', day, hours, updatedAtMs };
}

const allDay = (hour: (index: number) => PeriodTotals | null): Array<PeriodTotals | null> => Array.from({ length: 24 }, (_, index) => hour(index));
const pruned = (day: HistoryDay): HistoryDay => ({ ...day, hours: null });

const context = (nowMs: number, createdAtMs = at(D - 400, 0)): ReadingContext => ({ createdAtMs, nowMs, flushIntervalMs: MINUTE });

describe('reading status history', () => {
  it('gives a fully recorded reachable day an uptime of 1 and no unknown time', () => {
    const days = indexDays([storedDay(D, allDay(() => up(HOUR_MS)))]);
    const figures = measure(days, at(D, 0), at(D + 1, 0), at(D + 1, 0), context(at(D + 2, 0)));
    expect(figures).toMatchObject({ reachableMs: DAY_MS, unknownMs: 0, detail: 'day' });
    expect(uptimeOf(figures, false)).toBe(1);
  });

  it('counts hours with nothing recorded, and days with no row, as unknown, never as up', () => {
    const days = indexDays([storedDay(D, allDay((hour) => (hour < 6 ? up(HOUR_MS) : null)))]);
    const figures = measure(days, at(D, 0), at(D + 2, 0), at(D + 2, 0), context(at(D + 3, 0)));
    expect(figures.reachableMs).toBe(6 * HOUR_MS);
    expect(figures.unknownMs).toBe(18 * HOUR_MS + DAY_MS);
    expect(uptimeOf(figures, false)).toBe(1);
  });

  it('counts a gap inside an hour (a worker that could not store) as unknown', () => {
    const days = indexDays([storedDay(D, allDay((hour) => (hour === 3 ? up(40 * MINUTE) : up(HOUR_MS))))]);
    const [bucket] = buckets(days, at(D, 3), at(D, 4), 'hour', context(at(D + 1, 0)));
    expect(bucket).toMatchObject({ reachableMs: 40 * MINUTE, unknownMs: 20 * MINUTE, detail: 'hour' });
  });

  it('does not count the time before the VIM was created, neither as known nor as unknown', () => {
    const created = at(D, 20);
    const days = indexDays([storedDay(D, allDay((hour) => (hour >= 20 ? up(HOUR_MS) : null)))]);
    const window = windowFigures(days, at(D, 0), at(D + 1, 0), context(at(D + 1, 5), created));
    expect(window).toMatchObject({ fromMs: created, toMs: at(D + 1, 0), reachableMs: 4 * HOUR_MS, unknownMs: 0 });
    const [before] = buckets(days, at(D, 10), at(D, 11), 'hour', context(at(D + 1, 5), created));
    expect(before).toMatchObject({ reachableMs: 0, unknownMs: 0, detail: 'none' });
  });

  it('gives hour buckets on a day whose hours were pruned the day figures pro rata, marked detail "day"', () => {
    const day = pruned(storedDay(D, allDay((hour) => (hour < 12 ? up(HOUR_MS, { conditionChanges: 1 }) : down(HOUR_MS)))));
    const result = buckets(indexDays([day]), at(D, 0), at(D, 3), 'hour', context(at(D + 100, 0)));
    expect(result).toHaveLength(3);
    for (const bucket of result) {
      expect(bucket).toMatchObject({ detail: 'day', reachableMs: HOUR_MS / 2, unreachableMs: HOUR_MS / 2, unknownMs: 0, conditionChanges: 1 });
      expect(uptimeOf(bucket, false)).toBe(0.5);
    }
  });

  it('uses the hours, not the day pro rata, where a window boundary falls inside a day that still has them', () => {
    const day = storedDay(D, allDay((hour) => (hour < 12 ? up(HOUR_MS) : down(HOUR_MS))));
    const afternoon = windowFigures(indexDays([day]), at(D, 12), at(D + 1, 0), context(at(D + 2, 0)));
    expect(afternoon).toMatchObject({ reachableMs: 0, unreachableMs: 12 * HOUR_MS, unknownMs: 0 });
    expect(uptimeOf(afternoon, false)).toBe(0);
    // The same day with its hours pruned can only be shared pro rata.
    const approximated = windowFigures(indexDays([pruned(day)]), at(D, 12), at(D + 1, 0), context(at(D + 2, 0)));
    expect(uptimeOf(approximated, false)).toBe(0.5);
  });

  it('shares an hour pro rata when a bucket holds only part of it', () => {
    const days = indexDays([storedDay(D, allDay(() => up(HOUR_MS, { probes: { icmp: { checks: 360, failed: 6, p50: 1, p95: 2, max: 9 } } })))]);
    const figures = measure(days, at(D, 10, 15), at(D, 10, 45), at(D + 1, 0), context(at(D + 1, 0)));
    expect(figures).toMatchObject({ reachableMs: 30 * MINUTE, unknownMs: 0, detail: 'hour' });
    expect(figures.probes.icmp).toEqual({ checks: 180, failed: 3, p50: 1, p95: 2, max: 9 });
  });

  it('merges probe figures: checks summed, percentiles weighted by checks, the max of the maxima', () => {
    const days = indexDays([
      storedDay(
        D,
        allDay((hour) =>
          hour === 0
            ? up(HOUR_MS, { probes: { icmp: { checks: 100, failed: 0, p50: 1, p95: 2, max: 3 } } })
            : hour === 1
              ? up(HOUR_MS, { probes: { icmp: { checks: 300, failed: 4, p50: 5, p95: 6, max: 20 }, tcp: { checks: 10, failed: 10, p50: null, p95: null, max: null } } })
              : null,
        ),
      ),
    ]);
    const [zero, one] = buckets(days, at(D, 0), at(D, 2), 'hour', context(at(D + 1, 0)));
    const both = measure(days, at(D, 0), at(D, 2), at(D + 1, 0), context(at(D + 1, 0)));
    expect(zero?.probes).toEqual({ icmp: { checks: 100, failed: 0, p50: 1, p95: 2, max: 3 } });
    expect(one?.probes.tcp).toEqual({ checks: 10, failed: 10, p50: null, p95: null, max: null });
    expect(both.probes).toEqual({ icmp: { checks: 400, failed: 4, p50: 4, p95: 5, max: 20 }, tcp: { checks: 10, failed: 10, p50: null, p95: null, max: null } });
  });

  it('leaves out the still-open tail after a recent last write and reports the last write as the end', () => {
    const now = at(D, 10, 30);
    const lastWrite = now - 90_000;
    const days = indexDays([storedDay(D, allDay((hour) => (hour < 10 ? up(HOUR_MS) : hour === 10 ? up(28.5 * MINUTE) : null)), lastWrite)]);
    const window = windowFigures(days, now - DAY_MS, now, context(now));
    expect(window.toMs).toBe(lastWrite);
    expect(window.unknownMs).toBe(at(D, 0) - (now - DAY_MS)); // yesterday's part, which no row covers
    expect(window.reachableMs).toBe(10 * HOUR_MS + 28.5 * MINUTE);
    const hours = buckets(days, at(D, 9), observedEnd(days, at(D, 9), now, context(now)), 'hour', context(now));
    expect(hours.map((bucket) => [bucket.endMs, bucket.unknownMs])).toEqual([
      [at(D, 10), 0],
      [lastWrite, 0],
    ]);
  });

  it('counts the time since an old last write as unknown: the recorder stopped', () => {
    const now = at(D, 10, 30);
    const lastWrite = now - 5 * MINUTE;
    const days = indexDays([storedDay(D, allDay((hour) => (hour < 10 ? up(HOUR_MS) : hour === 10 ? up(25 * MINUTE) : null)), lastWrite)]);
    const window = windowFigures(days, at(D, 0), now, context(now));
    expect(window).toMatchObject({ toMs: now, reachableMs: 10 * HOUR_MS + 25 * MINUTE, unknownMs: 5 * MINUTE });
  });

  it('gives a VIM created a moment ago an empty window, and one never recorded all unknown', () => {
    const now = at(D, 12);
    const fresh = windowFigures(indexDays([]), now - DAY_MS, now, context(now, now - 30_000));
    expect(fresh).toMatchObject({ fromMs: now - 30_000, toMs: now - 30_000, unknownMs: 0 });
    expect(uptimeOf(fresh, false)).toBeNull();
    const silent = windowFigures(indexDays([]), now - DAY_MS, now, context(now));
    expect(silent).toMatchObject({ toMs: now, unknownMs: DAY_MS, detail: 'none' });
    expect(uptimeOf(silent, false)).toBeNull();
  });

  it('never reads past now, whatever the window asks', () => {
    const now = at(D, 12);
    const days = indexDays([storedDay(D, allDay((hour) => (hour < 12 ? up(HOUR_MS) : null)), now)]);
    expect(observedEnd(days, at(D, 0), at(D + 5, 0), context(now + 10 * MINUTE))).toBe(now + 10 * MINUTE);
    expect(observedEnd(days, at(D, 0), at(D + 5, 0), context(now + 30_000))).toBe(now);
  });

  it('shares a pruned day only over the part of it before its last write (a worker that stopped at noon)', () => {
    const day = pruned(storedDay(D, allDay((hour) => (hour < 12 ? up(HOUR_MS) : null)), at(D, 12)));
    const [morning, afternoon] = [
      buckets(indexDays([day]), at(D, 8), at(D, 9), 'hour', context(at(D + 100, 0)))[0],
      buckets(indexDays([day]), at(D, 14), at(D, 15), 'hour', context(at(D + 100, 0)))[0],
    ];
    expect(morning).toMatchObject({ reachableMs: HOUR_MS, unknownMs: 0, detail: 'day' });
    expect(afternoon).toMatchObject({ reachableMs: 0, unknownMs: HOUR_MS, detail: 'none' });
  });

  it('excludes the time inside maintenance windows from uptime only when asked', () => {
    const figures = { ...up(8 * HOUR_MS, { maintenanceReachableMs: 0 }), unreachableMs: 2 * HOUR_MS, maintenanceUnreachableMs: 2 * HOUR_MS };
    expect(uptimeOf(figures, false)).toBe(0.8);
    expect(uptimeOf(figures, true)).toBe(1);
    expect(uptimeOf({ ...figures, reachableMs: 2 * HOUR_MS, maintenanceReachableMs: 2 * HOUR_MS }, true)).toBeNull();
  });

  it('reports the maintenance parts and pending time of a bucket apart', () => {
    const days = indexDays([storedDay(D, allDay((hour) => (hour === 5 ? { ...down(HOUR_MS / 2), pendingMs: HOUR_MS / 2, maintenanceUnreachableMs: HOUR_MS / 2 } : null)))]);
    const [bucket] = buckets(days, at(D, 5), at(D, 6), 'hour', context(at(D + 1, 0)));
    expect(bucket).toMatchObject({ unreachableMs: HOUR_MS / 2, pendingMs: HOUR_MS / 2, maintenanceUnreachableMs: HOUR_MS / 2, unknownMs: 0 });
  });

  it('aligns buckets to UTC hours and days, the first and last partial', () => {
    expect(bucketCount(at(D, 10, 30), at(D, 12), 'hour')).toBe(2);
    expect(bucketCount(at(D, 10, 30), at(D, 12, 15), 'hour')).toBe(3);
    expect(bucketCount(at(D, 10), at(D, 11), 'hour')).toBe(1);
    expect(bucketCount(at(D, 10), at(D, 10), 'hour')).toBe(0);
    expect(bucketCount(at(D, 6), at(D + 90, 6), 'day')).toBe(91);
    const result = buckets(indexDays([]), at(D, 6), at(D + 2, 3), 'day', context(at(D + 3, 0)));
    expect(result.map((bucket) => [bucket.startMs, bucket.endMs])).toEqual([
      [at(D, 6), at(D + 1, 0)],
      [at(D + 1, 0), at(D + 2, 0)],
      [at(D + 2, 0), at(D + 2, 3)],
    ]);
    expect(result.length).toBe(bucketCount(at(D, 6), at(D + 2, 3), 'day'));
  });

  it('gives day buckets the day rollup when whole and the hours at the edges', () => {
    const days = indexDays([
      storedDay(D, allDay((hour) => (hour < 12 ? up(HOUR_MS) : down(HOUR_MS)))),
      pruned(storedDay(D + 1, allDay(() => up(HOUR_MS)))),
    ]);
    const [edge, whole] = buckets(days, at(D, 18), at(D + 2, 0), 'day', context(at(D + 3, 0)));
    expect(edge).toMatchObject({ unreachableMs: 6 * HOUR_MS, reachableMs: 0, detail: 'hour' });
    expect(whole).toMatchObject({ reachableMs: DAY_MS, detail: 'day' });
  });
});
