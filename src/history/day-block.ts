import { HOUR_MS, type HistoryDay, type PeriodTotals, type ProbeStats, type ProbeStatsByName } from './model.js';

/**
 * One VIM's day as the recorder keeps it between flushes: every figure of
 * its 24 hours in one Float32Array (no object per hour or probe; durations
 * are whole ms below 2^24, exact in 32 bits; latencies keep ~7 digits).
 *
 * Hour h, field f:          [h·6 + f]  reachable, unreachable, pending, maintenance reachable, maintenance unreachable, condition changes
 * Probe p, hour h, field g: [144 + (p·24 + h)·5 + g]  checks, failed, p50, p95, max (NaN: none)
 */
export const HOUR_FIELDS = 6;
export const REACHABLE = 0;
export const UNREACHABLE = 1;
export const PENDING = 2;
export const MAINTENANCE_REACHABLE = 3;
export const MAINTENANCE_UNREACHABLE = 4;
export const CONDITION_CHANGES = 5;
export const PROBE_FIELDS = 5;
export const CHECKS = 0;
export const FAILED = 1;
export const P50 = 2;
export const P95 = 3;
export const MAX = 4;
const PROBES_AT = 24 * HOUR_FIELDS;

export function probeAt(probe: number, hour: number): number {
  return PROBES_AT + (probe * 24 + hour) * PROBE_FIELDS;
}

export class DayBlock {
  figures: Float32Array;
  /** Bit h: hour h holds something (else it is stored as null: unknown). */
  present = 0;
  /** Whether the stored row of this day has been read and added in (before the first write of the day). */
  based = false;
  /** Moves on with every change; a flush writes the day when it differs from what the last write saw. */
  version = 0;
  savedVersion = 0;
  /** A stored row without hourly detail (pruned): its totals carried on as they are. */
  base: PeriodTotals | undefined;

  constructor(
    readonly day: number,
    probes: number,
  ) {
    this.figures = DayBlock.allocate(probes);
  }

  static allocate(probes: number): Float32Array {
    const figures = new Float32Array(PROBES_AT + probes * 24 * PROBE_FIELDS);
    for (let p = 0; p < probes; p++) for (let h = 0; h < 24; h++) figures.fill(Number.NaN, probeAt(p, h) + P50, probeAt(p, h) + MAX + 1);
    return figures;
  }

  /** Room for more probes (a VIM's settings gained one): rare, so the figures are copied. */
  grow(probes: number): void {
    const grown = DayBlock.allocate(probes);
    grown.set(this.figures);
    this.figures = grown;
  }

  get dirty(): boolean {
    return this.version !== this.savedVersion;
  }

  /**
   * Adds a stored day (another owner's hours, or this worker's previous
   * life) to what this block holds: durations and counts add up, max is the
   * larger, p50/p95 the check-weighted mean. `openHour`: the hour whose own
   * percentiles are still in the histogram; there the stored ones are kept
   * for the histogram's close to weigh in.
   */
  addStored(stored: HistoryDay, probes: readonly string[], openHour: number): void {
    const f = this.figures;
    this.version += 1;
    if (stored.hours === null) {
      this.base = stored;
      return;
    }
    for (let h = 0; h < 24; h++) {
      const hour = stored.hours[h];
      if (!hour) continue;
      this.present |= 1 << h;
      const at = h * HOUR_FIELDS;
      f[at + REACHABLE]! += hour.reachableMs;
      f[at + UNREACHABLE]! += hour.unreachableMs;
      f[at + PENDING]! += hour.pendingMs;
      f[at + MAINTENANCE_REACHABLE]! += hour.maintenanceReachableMs;
      f[at + MAINTENANCE_UNREACHABLE]! += hour.maintenanceUnreachableMs;
      f[at + CONDITION_CHANGES]! += hour.conditionChanges;
      for (let p = 0; p < probes.length; p++) {
        const theirs = hour.probes[probes[p]!];
        if (!theirs) continue;
        const q = probeAt(p, h);
        const ownChecks = f[q + CHECKS]!;
        f[q + CHECKS] = ownChecks + theirs.checks;
        f[q + FAILED]! += theirs.failed;
        f[q + MAX] = larger(f[q + MAX]!, theirs.max);
        if (h === openHour) {
          f[q + P50] = theirs.p50 ?? Number.NaN;
          f[q + P95] = theirs.p95 ?? Number.NaN;
        } else {
          f[q + P50] = weighted(f[q + P50]!, ownChecks, theirs.p50, theirs.checks);
          f[q + P95] = weighted(f[q + P95]!, ownChecks, theirs.p95, theirs.checks);
        }
      }
    }
  }

  /**
   * The day as stored. `openHour` (or -1) is the hour still collecting
   * latencies; `open(p)` gives its p50/p95 so far (already weighed with any
   * stored part), without closing it.
   */
  toDay(vimId: string, probes: readonly string[], updatedAtMs: number, openHour: number, open: (probe: number) => readonly [number, number]): HistoryDay {
    const f = this.figures;
    const hours: Array<PeriodTotals | null> = [];
    for (let h = 0; h < 24; h++) {
      if ((this.present & (1 << h)) === 0) {
        hours.push(null);
        continue;
      }
      const at = h * HOUR_FIELDS;
      let reachable = f[at + REACHABLE]!;
      let unreachable = f[at + UNREACHABLE]!;
      let pending = f[at + PENDING]!;
      let maintenanceReachable = f[at + MAINTENANCE_REACHABLE]!;
      let maintenanceUnreachable = f[at + MAINTENANCE_UNREACHABLE]!;
      // Two owners that both watched part of the same stretch (a takeover before the old one noticed) must not make an hour longer than an hour.
      const covered = reachable + unreachable + pending;
      if (covered > HOUR_MS) {
        const scale = HOUR_MS / covered;
        reachable = Math.floor(reachable * scale);
        unreachable = Math.floor(unreachable * scale);
        pending = Math.floor(pending * scale);
        maintenanceReachable = Math.min(reachable, Math.floor(maintenanceReachable * scale));
        maintenanceUnreachable = Math.min(unreachable, Math.floor(maintenanceUnreachable * scale));
      }
      const stats: ProbeStatsByName = {};
      for (let p = 0; p < probes.length; p++) {
        const q = probeAt(p, h);
        const checks = f[q + CHECKS]!;
        if (checks === 0) continue;
        const [p50, p95] = h === openHour ? open(p) : [f[q + P50]!, f[q + P95]!];
        stats[probes[p]!] = { checks, failed: f[q + FAILED]!, p50: orNull(p50), p95: orNull(p95), max: orNull(f[q + MAX]!) };
      }
      hours.push({
        reachableMs: reachable,
        unreachableMs: unreachable,
        pendingMs: pending,
        maintenanceReachableMs: maintenanceReachable,
        maintenanceUnreachableMs: maintenanceUnreachable,
        conditionChanges: f[at + CONDITION_CHANGES]!,
        probes: stats,
      });
    }
    return { vimId, day: this.day, ...totalsOf(hours, this.base), hours, updatedAtMs };
  }
}

/**
 * A day's totals from its hours. The day's p50/p95 are the check-weighted
 * means of the hourly ones: an approximation (a true day percentile would
 * need the day's histogram, and stored hours of a previous owner have none),
 * exact when the hours are alike and within the spread of the hours otherwise.
 */
export function totalsOf(hours: ReadonlyArray<PeriodTotals | null>, base?: PeriodTotals): PeriodTotals {
  const totals: PeriodTotals = {
    reachableMs: base?.reachableMs ?? 0,
    unreachableMs: base?.unreachableMs ?? 0,
    pendingMs: base?.pendingMs ?? 0,
    maintenanceReachableMs: base?.maintenanceReachableMs ?? 0,
    maintenanceUnreachableMs: base?.maintenanceUnreachableMs ?? 0,
    conditionChanges: base?.conditionChanges ?? 0,
    probes: {},
  };
  const sums = new Map<string, { checks: number; failed: number; max: number | null; p50: number; p95: number; weight: number }>();
  const add = (name: string, stats: ProbeStats) => {
    let sum = sums.get(name);
    if (!sum) sums.set(name, (sum = { checks: 0, failed: 0, max: null, p50: 0, p95: 0, weight: 0 }));
    sum.checks += stats.checks;
    sum.failed += stats.failed;
    if (stats.max !== null) sum.max = sum.max === null ? stats.max : Math.max(sum.max, stats.max);
    if (stats.p50 !== null && stats.p95 !== null) {
      sum.p50 += stats.p50 * stats.checks;
      sum.p95 += stats.p95 * stats.checks;
      sum.weight += stats.checks;
    }
  };
  if (base) for (const [name, stats] of Object.entries(base.probes)) if (stats) add(name, stats);
  for (const hour of hours) {
    if (!hour) continue;
    totals.reachableMs += hour.reachableMs;
    totals.unreachableMs += hour.unreachableMs;
    totals.pendingMs += hour.pendingMs;
    totals.maintenanceReachableMs += hour.maintenanceReachableMs;
    totals.maintenanceUnreachableMs += hour.maintenanceUnreachableMs;
    totals.conditionChanges += hour.conditionChanges;
    for (const [name, stats] of Object.entries(hour.probes)) if (stats) add(name, stats);
  }
  for (const [name, sum] of sums) {
    totals.probes[name] = {
      checks: sum.checks,
      failed: sum.failed,
      p50: sum.weight > 0 ? sum.p50 / sum.weight : null,
      p95: sum.weight > 0 ? sum.p95 / sum.weight : null,
      max: sum.max,
    };
  }
  return totals;
}

/** The check-weighted mean of two percentiles, either of which may be missing (NaN / null). */
export function weighted(own: number, ownWeight: number, theirs: number | null, theirWeight: number): number {
  const haveOwn = !Number.isNaN(own) && ownWeight > 0;
  const haveTheirs = theirs !== null && !Number.isNaN(theirs) && theirWeight > 0;
  if (haveOwn && haveTheirs) return (own * ownWeight + theirs * theirWeight) / (ownWeight + theirWeight);
  if (haveTheirs) return theirs;
  return own;
}

function larger(own: number, theirs: number | null): number {
  if (theirs === null) return own;
  return Number.isNaN(own) ? theirs : Math.max(own, theirs);
}

function orNull(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
