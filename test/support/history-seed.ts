import { DAY_MS, emptyTotals, HOUR_MS, type HistoryDay, type PeriodTotals } from '../../src/history/model.js';
import type { Store } from '../../src/store/database.js';
import { HistoryRepository } from '../../src/store/history-repository.js';
import { tackerTimestamp } from '../../src/time/clock.js';

export interface SeedDay {
  /** Days before today (1 = yesterday). */
  daysAgo: number;
  /** Unreachable ms in each of the hours `downHours` (the rest of the day is reachable). */
  downMs?: number;
  downHours?: number[];
}

/** An hour of a tcp probe every 0.2 s: 18,000 checks, latency rising and falling over the day. */
function hourOf(index: number, downMs: number, probe: string): PeriodTotals {
  const checks = 18_000;
  const failed = Math.round((downMs / HOUR_MS) * checks);
  const p50 = 0.3 + 0.2 * Math.sin((index / 24) * Math.PI * 2) ** 2;
  return {
    ...emptyTotals(),
    reachableMs: HOUR_MS - downMs,
    unreachableMs: downMs,
    conditionChanges: downMs > 0 ? 2 : 0,
    probes: { [probe]: { checks, failed, p50, p95: p50 * 2.5, max: p50 * 12 } },
  };
}

/** A stored day as the recorder writes one: 24 hours and their totals. */
export function historyDay(vimId: string, day: number, seed: SeedDay, probe = 'tcp'): HistoryDay {
  const hours = Array.from({ length: 24 }, (_, index) => hourOf(index, (seed.downHours ?? []).includes(index) ? Math.min(HOUR_MS, seed.downMs ?? 0) : 0, probe));
  const sum = (key: 'reachableMs' | 'unreachableMs' | 'conditionChanges') => hours.reduce((total, hour) => total + hour[key], 0);
  const stats = hours.map((hour) => hour.probes[probe]!);
  return {
    ...emptyTotals(),
    vimId,
    day,
    reachableMs: sum('reachableMs'),
    unreachableMs: sum('unreachableMs'),
    conditionChanges: sum('conditionChanges'),
    probes: {
      [probe]: {
        checks: stats.reduce((total, s) => total + s.checks, 0),
        failed: stats.reduce((total, s) => total + s.failed, 0),
        p50: stats[12]!.p50,
        p95: Math.max(...stats.map((s) => s.p95 ?? 0)),
        max: Math.max(...stats.map((s) => s.max ?? 0)),
      },
    },
    hours,
    updatedAtMs: (day + 1) * DAY_MS,
  };
}

/**
 * Writes past days of a VIM's history through HistoryRepository.save (the
 * recorder's own write, fenced by the VIM's monitor). Today is left to the
 * recorder where one runs.
 */
export async function seedHistory(store: Store, vimId: string, monitorId: string, days: SeedDay[], nowMs = Date.now()): Promise<void> {
  const today = Math.floor(nowMs / DAY_MS);
  const fenced = await new HistoryRepository(store).save(days.map((seed) => ({ monitorId, day: historyDay(vimId, today - seed.daysAgo, seed) })));
  if (fenced.length > 0) throw new Error(`history seed fenced off for ${fenced.join(', ')}: the monitor id is not the VIM's current one`);
}

/** Dates a VIM's registration back, as if it had been watched that long: uptime counts from a VIM's creation on. */
export async function backdateVim(store: Store, vimId: string, createdAtMs: number): Promise<void> {
  await store.db.updateTable('vims').set({ created_at: tackerTimestamp(new Date(createdAtMs)) }).where('id', '=', vimId).execute();
}
