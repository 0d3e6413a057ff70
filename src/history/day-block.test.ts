import { describe, expect, it } from 'vitest';
import { decodeHours, encodeHours } from './codec.js';
import { BlockPools, DayBlock, MAINTENANCE_REACHABLE, PENDING, REACHABLE, UNREACHABLE } from './day-block.js';
import { HOUR_MS, type PeriodTotals } from './model.js';

const DAY = 20_424;
const probes = ['icmp', 'api', 'tcp'];

/** Closed hours 0-2 (hour 2 over-full: two owners watched the same stretch), hour 3 open, tcp never checked, a pruned rollup carried. */
function block(): DayBlock {
  const b = new DayBlock(DAY, new BlockPools(), probes.length);
  for (let h = 0; h < 4; h++) {
    b.addMs(h, REACHABLE, h === 2 ? HOUR_MS : HOUR_MS - 90_000);
    b.addMs(h, UNREACHABLE, h === 2 ? 600_000 : 60_000);
    b.addMs(h, PENDING, 30_000);
    b.addMs(h, MAINTENANCE_REACHABLE, h === 1 ? 120_000 : 0);
    b.addConditionChanges(h, h % 2);
    for (let c = 0; c < 30; c++) {
      b.check(0, h, c % 7 !== 0, 0.04 + c / 1000);
      if (h !== 1) b.check(1, h, true, 1.2 + c / 37);
    }
    if (h < 3) b.closeHour(h);
  }
  const base: PeriodTotals = { reachableMs: 7, unreachableMs: 0, pendingMs: 0, maintenanceReachableMs: 0, maintenanceUnreachableMs: 0, conditionChanges: 1, probes: { icmp: { checks: 10, failed: 1, p50: 0.5, p95: 0.9, max: 2 } } };
  b.base = base;
  return b;
}

describe('a day block written by a flush', () => {
  it('encodes straight from its slots the same hours and totals toDay gives', () => {
    const b = block();
    const day = b.toDay('vim-1', probes, 1_000, 3);
    const saved = b.toSaved('vim-1', probes, 1_000, 3);
    expect(Buffer.isBuffer(saved.hours)).toBe(true);
    // The hours as stored before (figures encoded by encodeHours, latencies kept to the µs).
    expect(decodeHours(saved.hours as Buffer)).toEqual(decodeHours(encodeHours(day.hours!)));
    const { hours: _hours, ...totals } = day;
    const { hours: _encoded, ...savedTotals } = saved;
    expect(savedTotals).toEqual(totals);
    // The over-full hour was scaled to an hour, and the open hour's percentiles come from its histogram.
    const hour2 = day.hours![2]!;
    expect(hour2.reachableMs + hour2.unreachableMs + hour2.pendingMs).toBeLessThanOrEqual(HOUR_MS);
    expect(day.hours![3]!.probes.api!.p50).toBeGreaterThan(1.2);
    expect(totals.probes.icmp!.checks).toBe(10 + 4 * 30);
  });
});
