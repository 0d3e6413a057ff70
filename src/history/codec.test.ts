import { describe, expect, it } from 'vitest';
import { decodeHours, encodeHours } from './codec.js';
import type { PeriodTotals } from './model.js';

function hour(h: number, probeCount: number): PeriodTotals {
  const probes: PeriodTotals['probes'] = {};
  for (let p = 0; p < probeCount; p += 1) probes[`probe-${p}`] = { checks: 360, failed: p % 3, p50: (51 + h) / 1000, p95: 0.09, max: p === 0 ? null : (200 + p) / 1000 };
  return { reachableMs: 3_600_000 - h, unreachableMs: h, pendingMs: 0, maintenanceReachableMs: 0, maintenanceUnreachableMs: 0, conditionChanges: h % 2, probes };
}

const day = (probeCount: number): Array<PeriodTotals | null> => Array.from({ length: 24 }, (_, h) => (h === 5 ? null : hour(h, probeCount)));

describe('history hours codec', () => {
  it('decodes what it encoded', () => {
    const hours = day(2);
    expect(decodeHours(encodeHours(hours))).toEqual(hours);
  });

  it('decodes a day whose text is larger than one inflate chunk', () => {
    // 40 probes a hour: the JSON is far above the 8 KiB chunk, so the output is joined from several.
    const hours = day(40);
    expect(JSON.stringify(hours).length).toBeGreaterThan(32_768);
    expect(decodeHours(encodeHours(hours))).toEqual(hours);
  });

  it('keeps about its own size of memory alive per encoded day, not a 16 KiB zlib chunk', () => {
    // The recorder holds a batch of encoded days across its SQL; each must not pin a chunk far larger than itself.
    const encoded = Array.from({ length: 2_000 }, (_, i) => encodeHours(day(2 + (i % 2))));
    const backing = new Set(encoded.map((buffer) => buffer.buffer));
    let pinned = 0;
    for (const store of backing) pinned += store.byteLength;
    const own = encoded.reduce((sum, buffer) => sum + buffer.byteLength, 0);
    // zlib's default chunks would pin 2,000 × 16 KiB = 32 MiB here.
    expect(pinned).toBeLessThan(2 * own);
  });
});
