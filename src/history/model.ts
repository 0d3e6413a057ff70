/**
 * The shape of a VIM's status history (issue 12). A day is one stored row
 * (vim_history); an hour is one entry of its `hours`. Durations are in ms;
 * time that no entry covers is unknown (the monitor was not running, or its
 * worker could not store what it saw), never counted as up.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Checks of one probe over a period, with latency percentiles in ms (null when no check returned a latency). */
export interface ProbeStats {
  checks: number;
  failed: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export type ProbeStatsByName = Partial<Record<string, ProbeStats>>;

/** What a period (an hour, a day) holds. */
export interface PeriodTotals {
  reachableMs: number;
  unreachableMs: number;
  pendingMs: number;
  /** Parts of reachableMs and unreachableMs that fell inside a maintenance window. */
  maintenanceReachableMs: number;
  maintenanceUnreachableMs: number;
  conditionChanges: number;
  probes: ProbeStatsByName;
}

/** One VIM's day as stored: totals, and the 24 hours (null: no hour kept any more, the daily rollup only). */
export interface HistoryDay extends PeriodTotals {
  vimId: string;
  /** Days since 1970-01-01 UTC. */
  day: number;
  /** 24 entries, index = hour of the day (UTC); null for an hour with nothing recorded. */
  hours: Array<PeriodTotals | null> | null;
  updatedAtMs: number;
}

/** A day as it is written: its hours as figures, already encoded (codec.ts; the recorder encodes from its blocks), or null (the rollup only). */
export interface DayToSave extends Omit<HistoryDay, 'hours'> {
  hours: ReadonlyArray<PeriodTotals | null> | Buffer | null;
}

export function emptyTotals(): PeriodTotals {
  return { reachableMs: 0, unreachableMs: 0, pendingMs: 0, maintenanceReachableMs: 0, maintenanceUnreachableMs: 0, conditionChanges: 0, probes: {} };
}

/** Covered time: what the monitor saw, in any status. */
export function coveredMs(totals: PeriodTotals): number {
  return totals.reachableMs + totals.unreachableMs + totals.pendingMs;
}

export function dayOf(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS);
}
