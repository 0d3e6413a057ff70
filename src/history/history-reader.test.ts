import { describe, expect, it } from 'vitest';
import type { HistoryRepository } from '../store/history-repository.js';
import { tackerTimestamp } from '../time/clock.js';
import type { VimRecord } from '../vims/model.js';
import { HistoryReader } from './history-reader.js';
import { DAY_MS, HOUR_MS, dayOf, emptyTotals, type HistoryDay, type PeriodTotals } from './model.js';

const admin = { projectId: 'admin', isAdmin: true };
/** 10:30:00 UTC; the VIM was created at 10:29:40 (20 s of history). */
const START = Date.UTC(2026, 11, 2, 10, 30);
const CREATED = START - 20_000;
const vim = { id: 'v1', createdAt: tackerTimestamp(new Date(CREATED)) } as VimRecord;

function dayWith(hour: PeriodTotals, updatedAtMs: number): HistoryDay {
  const hours: Array<PeriodTotals | null> = Array.from({ length: 24 }, () => null);
  hours[Math.floor((START % DAY_MS) / HOUR_MS)] = hour;
  return { ...hour, vimId: vim.id, day: dayOf(START), hours, updatedAtMs };
}

/**
 * A store that takes 5 s to answer (a loaded database) and meanwhile gets a
 * flush: the day it returns was written after the reader's first now.
 */
function slowStore(clock: { ms: number }): Pick<HistoryRepository, 'read' | 'sums'> {
  const hour: PeriodTotals = { ...emptyTotals(), reachableMs: 15_000, unreachableMs: 10_000, probes: { tcp: { checks: 50, failed: 5, p50: 1, p95: 2, max: 3 } } };
  return {
    async read() {
      clock.ms += 5_000;
      return [dayWith(hour, clock.ms)];
    },
    async sums() {
      return new Map();
    },
  };
}

function readerAt(clock: { ms: number }): HistoryReader {
  return new HistoryReader({
    registry: { get: async () => vim },
    history: slowStore(clock),
    clock: { now: () => new Date(clock.ms) },
    flushIntervalMs: 1_000,
  });
}

describe('a history read while a flush lands', () => {
  it('counts the open hour up to what was stored, not pro rata of a now taken before the store answered', async () => {
    const clock = { ms: START };
    const history = await readerAt(clock).history(admin, vim.id, { step: 'hour' });
    const current = history.buckets.at(-1)!;
    expect(current.probes.tcp).toMatchObject({ checks: 50, failed: 5 });
    expect(current.unreachableMs).toBe(10_000);
    expect(history.toMs).toBe(START + 5_000);
  });

  it('keeps an explicit end: a caller who asked up to an instant gets the share before it', async () => {
    const clock = { ms: START };
    const history = await readerAt(clock).history(admin, vim.id, { step: 'hour', toMs: START });
    // 20 of the 25 s the stored figures cover lie before the asked end.
    expect(history.buckets.at(-1)!.probes.tcp).toMatchObject({ checks: 40, failed: 4 });
  });

  it('gives the uptime window the whole stored time', async () => {
    const clock = { ms: START };
    const uptime = await readerAt(clock).uptime(admin, vim.id, '24h', false);
    expect(uptime.figures.unreachableMs).toBe(10_000);
    expect(uptime.uptime).toBeCloseTo(0.6, 6);
  });
});
