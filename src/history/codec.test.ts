import { describe, expect, it } from 'vitest';
import { decodeHours, encodeHours } from './codec.js';
import type { PeriodTotals } from './model.js';

function hour(h: number, probeCount: number): PeriodTotals {
  const probes: PeriodTotals['probes'] = {};
  for (let p = 0; p < probeCount; p += 1) probes[`probe-${p}`] = { checks: 360, failed: p % 3, p50: (51 + h) / 1000, p95: 0.09, max: p === 0 ? null : (200 + p) / 1000 };
  return { reachableMs: 3_600_000 - h, unreachableMs: h, pendingMs: 0, maintenanceReachableMs: 0, maintenanceUnreachableMs: 0, conditionChanges: h % 2, probes };
}

const day = (probeCount: number): Array<PeriodTotals | null> => Array.from({ length: 24 }, (_, h) => (h === 5 ? null : hour(h, probeCount)));

/** A day written by the version-1 codec (deflated JSON, before 2026-12-02): hours 20, 21 and 23, api missing at 20. */
const STORED_V1 =
  'tY6xCsMwDET/xfNhTpYdV/0V4yF0CqQlS6bQfy9qCbSQqRAEN0h6d9cE7bHOM06WpsXIRJhdiH22MN3uS7g2Hd6LyCyuppCYNPdn30mBWTUQA0l/Tr+0HNAI4zL5vTgoUaV+2kiKmou7f5dTj6jH5fQv+95f';
const storedV1Hours = (): Array<PeriodTotals | null> =>
  Array.from({ length: 24 }, (_, h) =>
    h < 20 || h === 22
      ? null
      : {
          reachableMs: 3_590_000 + h,
          unreachableMs: 10_000 - h,
          pendingMs: 0,
          maintenanceReachableMs: h === 21 ? 60_000 : 0,
          maintenanceUnreachableMs: 0,
          conditionChanges: h === 21 ? 2 : 0,
          probes: {
            icmp: { checks: 360, failed: h - 20, p50: 0.041, p95: 0.093, max: 1.234 },
            ...(h !== 20 && { api: { checks: 359, failed: 0, p50: 1.317, p95: null, max: 12.345 } }),
          },
        },
  );

describe('history hours codec', () => {
  it('reads a day stored in the deflated JSON form of version 1', () => {
    expect(decodeHours(Buffer.from(STORED_V1, 'base64'))).toEqual(storedV1Hours());
  });

  it('writes the binary form, smaller than the deflated JSON for the same day, and reads it back', () => {
    const hours = storedV1Hours();
    const encoded = encodeHours(hours);
    expect([encoded[0], encoded[1]]).toEqual([0xff, 2]);
    expect(encoded.length).toBeLessThan(Buffer.from(STORED_V1, 'base64').length);
    expect(decodeHours(encoded)).toEqual(hours);
  });

  it('keeps latencies to the µs, a probe missing from some hours, and figures that fall from one hour to the next', () => {
    const hours = storedV1Hours();
    hours[23] = { ...hours[23]!, reachableMs: 5, unreachableMs: 3_599_995, probes: { api: { checks: 1, failed: 1, p50: 3000.0004, p95: 0.0006, max: 0 } } };
    const decoded = decodeHours(encodeHours(hours));
    expect(decoded[23]).toEqual({ ...hours[23], probes: { api: { checks: 1, failed: 1, p50: 3000, p95: 0.001, max: 0 } } });
    expect(decoded.slice(0, 23)).toEqual(hours.slice(0, 23));
  });

  it('falls back to the deflated JSON for a day the binary form cannot hold exactly (fractional ms)', () => {
    const hours = storedV1Hours();
    hours[21] = { ...hours[21]!, reachableMs: 1_234.5 };
    const encoded = encodeHours(hours);
    expect(encoded[0]).not.toBe(0xff);
    expect(decodeHours(encoded)).toEqual(hours);
  });

  it('refuses a cut-short day and an unknown version with an error that says so', () => {
    const encoded = encodeHours(storedV1Hours());
    expect(() => decodeHours(encoded.subarray(0, encoded.length - 3))).toThrow(/cut short/);
    const later = Buffer.from(encoded);
    later[1] = 3;
    expect(() => decodeHours(later)).toThrow(/codec version 3/);
  });

  it('decodes what it encoded', () => {
    const hours = day(2);
    expect(decodeHours(encodeHours(hours))).toEqual(hours);
  });

  it('decodes a day whose text is larger than one inflate chunk', () => {
    // 40 probes a hour: more than the binary form holds, so the deflated JSON; its text is far above the 8 KiB
    // chunk, so the output is joined from several.
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
