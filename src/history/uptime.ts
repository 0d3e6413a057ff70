import { DAY_MS, HOUR_MS, dayOf, type HistoryDay, type PeriodTotals, type ProbeStatsByName } from './model.js';

/**
 * Reading stored history back (issue 12): the figures of any span of time,
 * the buckets of GET /v1.0/vims/{id}/history and the uptime of a window.
 * Pure functions over the stored days of ONE VIM.
 *
 * Time no stored entry covers is unknown, never up. Where a span covers only
 * part of a stored period (an hour, or a day whose hours were pruned), the
 * period's figures are taken pro rata of the part of the period they can lie
 * in: from the period's start (or the VIM's creation) to its end (or the
 * day's last write). That is exact for whole periods and an approximation
 * for parts of them.
 */

export type HistoryStep = 'hour' | 'day';
/** The stored granularity a bucket's figures come from: hours, a day's rollup (pro rata inside it), or nothing stored. */
export type Detail = 'hour' | 'day' | 'none';

export const STEP_MS: Record<HistoryStep, number> = { hour: HOUR_MS, day: DAY_MS };

/** What reading needs to know besides the stored days. */
export interface ReadingContext {
  /** The VIM's creation: time before it is neither known nor unknown, it is not counted. */
  createdAtMs: number;
  nowMs: number;
  /** history.flush_interval in ms: how far behind now the last write of a running recorder may be. */
  flushIntervalMs: number;
}

/** The figures of a span, in ms (fractions where a stored period was shared pro rata). */
export interface Figures extends PeriodTotals {
  /** Time of the span (after the VIM's creation, up to the observed end) that no stored entry covers. */
  unknownMs: number;
  detail: Detail;
}

export interface Bucket extends Figures {
  startMs: number;
  endMs: number;
}

/** Stored days of one VIM, by day number. */
export type DayIndex = ReadonlyMap<number, HistoryDay>;

/**
 * Whole days `fromDay`..`toDay` of one VIM summed in SQL
 * (HistoryRepository.sums): they stand in for those stored days when every
 * one of them lies entirely in the span measured.
 */
export interface SummedSpan {
  fromDay: number;
  toDay: number;
  totals: PeriodTotals;
  lastWriteMs: number;
}

export function indexDays(days: readonly HistoryDay[]): DayIndex {
  return new Map(days.map((day) => [day.day, day]));
}

/**
 * The end of what can be known about a window ending at `toMs`: never past
 * now, and not past the VIM's last stored write while that write is younger
 * than two flush intervals. That tail is not written yet (the recorder writes
 * every flush_interval), so it is left out rather than shown as unknown; an
 * older last write means the recorder stopped, and the time since is unknown.
 * Never before `fromMs`.
 */
export function observedEnd(days: DayIndex, fromMs: number, toMs: number, context: ReadingContext, summed?: SummedSpan): number {
  const end = Math.min(toMs, context.nowMs);
  const stored = lastWriteOf(days);
  const lastWrite = summed === undefined ? (stored ?? context.createdAtMs) : Math.max(stored ?? summed.lastWriteMs, summed.lastWriteMs);
  const tailIsOpen = context.nowMs - lastWrite < 2 * context.flushIntervalMs;
  return Math.max(fromMs, tailIsOpen && lastWrite < end ? lastWrite : end);
}

export function lastWriteOf(days: DayIndex): number | undefined {
  let last: number | undefined;
  for (const day of days.values()) last = last === undefined ? day.updatedAtMs : Math.max(last, day.updatedAtMs);
  return last;
}

/** How many buckets of `step` span [fromMs, toMs): the first and last may be partial (they start at from, end at to). */
export function bucketCount(fromMs: number, toMs: number, step: HistoryStep): number {
  if (toMs <= fromMs) return 0;
  const size = STEP_MS[step];
  const firstBoundary = (Math.floor(fromMs / size) + 1) * size;
  return firstBoundary >= toMs ? 1 : 1 + Math.ceil((toMs - firstBoundary) / size);
}

/** The buckets of [fromMs, endMs), aligned to UTC hours or days; endMs is the observed end (observedEnd). */
export function buckets(days: DayIndex, fromMs: number, endMs: number, step: HistoryStep, context: ReadingContext): Bucket[] {
  const size = STEP_MS[step];
  const out: Bucket[] = [];
  for (let start = fromMs; start < endMs; ) {
    const end = Math.min(endMs, (Math.floor(start / size) + 1) * size);
    out.push({ startMs: start, endMs: end, ...measure(days, start, end, endMs, context) });
    start = end;
  }
  return out;
}

/**
 * The figures of [startMs, endMs). Unknown time is counted from the VIM's
 * creation up to `observedEndMs` only.
 */
export function measure(days: DayIndex, startMs: number, endMs: number, observedEndMs: number, context: ReadingContext, summed?: SummedSpan): Figures {
  const sum = new Accumulator();
  for (let day = dayOf(startMs); day * DAY_MS < endMs; day += 1) {
    if (summed && day >= summed.fromDay && day <= summed.toDay) {
      if (day === summed.fromDay) sum.add(summed.totals, 1, 'day');
      continue;
    }
    const stored = days.get(day);
    if (stored) addDay(sum, stored, startMs, endMs, context);
  }
  const countedMs = overlap(startMs, endMs, context.createdAtMs, observedEndMs);
  const covered = sum.totals.reachableMs + sum.totals.unreachableMs + sum.totals.pendingMs;
  return { ...sum.result(), unknownMs: Math.max(0, countedMs - covered), detail: sum.detail };
}

/**
 * The figures of a window (GET /v1.0/vims/{id}/uptime): from the later of its
 * start and the VIM's creation, to its observed end (observedEnd).
 */
export function windowFigures(days: DayIndex, fromMs: number, toMs: number, context: ReadingContext): Figures & { fromMs: number; toMs: number };
/** With whole days summed in SQL: undefined when the window does not hold all of them (then read those days instead). */
export function windowFigures(days: DayIndex, fromMs: number, toMs: number, context: ReadingContext, summed: SummedSpan): (Figures & { fromMs: number; toMs: number }) | undefined;
export function windowFigures(days: DayIndex, fromMs: number, toMs: number, context: ReadingContext, summed?: SummedSpan): (Figures & { fromMs: number; toMs: number }) | undefined {
  const end = observedEnd(days, fromMs, toMs, context, summed);
  const start = Math.min(Math.max(fromMs, context.createdAtMs), end);
  if (summed && (start > summed.fromDay * DAY_MS || end < (summed.toDay + 1) * DAY_MS)) return undefined;
  return { fromMs: start, toMs: end, ...measure(days, start, end, end, context, summed) };
}

/** reachable / (reachable + unreachable), optionally without the time inside maintenance windows; null when nothing was observed. */
export function uptimeOf(figures: PeriodTotals, excludeMaintenance: boolean): number | null {
  const reachable = figures.reachableMs - (excludeMaintenance ? figures.maintenanceReachableMs : 0);
  const unreachable = figures.unreachableMs - (excludeMaintenance ? figures.maintenanceUnreachableMs : 0);
  const up = Math.max(0, reachable);
  const observed = up + Math.max(0, unreachable);
  return observed > 0 ? up / observed : null;
}

function addDay(sum: Accumulator, stored: HistoryDay, startMs: number, endMs: number, context: ReadingContext): void {
  const dayStart = stored.day * DAY_MS;
  const dayEnd = dayStart + DAY_MS;
  if (startMs <= dayStart && endMs >= dayEnd) {
    sum.add(stored, 1, 'day');
    return;
  }
  if (stored.hours === null) {
    const share = shareOf(dayStart, dayEnd, startMs, endMs, stored.updatedAtMs, context.createdAtMs);
    if (share > 0) sum.add(stored, share, 'day');
    return;
  }
  const first = Math.max(0, Math.floor((startMs - dayStart) / HOUR_MS));
  const last = Math.min(23, Math.floor((endMs - 1 - dayStart) / HOUR_MS));
  for (let hour = first; hour <= last; hour += 1) {
    const entry = stored.hours[hour];
    if (!entry) continue;
    const hourStart = dayStart + hour * HOUR_MS;
    const share = shareOf(hourStart, hourStart + HOUR_MS, startMs, endMs, stored.updatedAtMs, context.createdAtMs);
    if (share > 0) sum.add(entry, share, 'hour');
  }
}

/**
 * The part of a stored period's figures that falls in [startMs, endMs): all
 * of them when the span holds the whole period, else pro rata of the time the
 * figures can lie in (the period after the VIM's creation and up to the day's
 * last write).
 */
function shareOf(periodStart: number, periodEnd: number, startMs: number, endMs: number, updatedAtMs: number, createdAtMs: number): number {
  if (startMs <= periodStart && endMs >= periodEnd) return 1;
  const liveStart = Math.max(periodStart, createdAtMs);
  const liveEnd = Math.min(periodEnd, updatedAtMs);
  if (liveEnd > liveStart) return overlap(startMs, endMs, liveStart, liveEnd) / (liveEnd - liveStart);
  return overlap(startMs, endMs, periodStart, periodEnd) / (periodEnd - periodStart);
}

function overlap(aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  return Math.max(0, Math.min(aEnd, bEnd) - Math.max(aStart, bStart));
}

const COARSENESS: Record<Detail, number> = { none: 0, hour: 1, day: 2 };

/** Probe figures while summing: latency percentiles as check-weighted means (an approximation), max as the max. */
interface ProbeSum {
  checks: number;
  failed: number;
  p50Weighted: number;
  p50Weight: number;
  p95Weighted: number;
  p95Weight: number;
  max: number | null;
}

class Accumulator {
  readonly totals: PeriodTotals = {
    reachableMs: 0,
    unreachableMs: 0,
    pendingMs: 0,
    maintenanceReachableMs: 0,
    maintenanceUnreachableMs: 0,
    conditionChanges: 0,
    probes: {},
  };
  private readonly probes = new Map<string, ProbeSum>();
  detail: Detail = 'none';

  add(period: PeriodTotals, share: number, detail: Detail): void {
    const totals = this.totals;
    totals.reachableMs += period.reachableMs * share;
    totals.unreachableMs += period.unreachableMs * share;
    totals.pendingMs += period.pendingMs * share;
    totals.maintenanceReachableMs += period.maintenanceReachableMs * share;
    totals.maintenanceUnreachableMs += period.maintenanceUnreachableMs * share;
    totals.conditionChanges += period.conditionChanges * share;
    for (const [name, stats] of Object.entries(period.probes)) {
      if (!stats) continue;
      let probe = this.probes.get(name);
      if (!probe) {
        probe = { checks: 0, failed: 0, p50Weighted: 0, p50Weight: 0, p95Weighted: 0, p95Weight: 0, max: null };
        this.probes.set(name, probe);
      }
      const weight = stats.checks * share;
      probe.checks += weight;
      probe.failed += stats.failed * share;
      if (stats.p50 !== null && weight > 0) {
        probe.p50Weighted += stats.p50 * weight;
        probe.p50Weight += weight;
      }
      if (stats.p95 !== null && weight > 0) {
        probe.p95Weighted += stats.p95 * weight;
        probe.p95Weight += weight;
      }
      if (stats.max !== null) probe.max = probe.max === null ? stats.max : Math.max(probe.max, stats.max);
    }
    if (COARSENESS[detail] > COARSENESS[this.detail]) this.detail = detail;
  }

  result(): PeriodTotals {
    const probes: ProbeStatsByName = {};
    for (const [name, sum] of this.probes) {
      probes[name] = {
        checks: Math.round(sum.checks),
        failed: Math.round(sum.failed),
        p50: sum.p50Weight > 0 ? sum.p50Weighted / sum.p50Weight : null,
        p95: sum.p95Weight > 0 ? sum.p95Weighted / sum.p95Weight : null,
        max: sum.max,
      };
    }
    return { ...this.totals, conditionChanges: Math.round(this.totals.conditionChanges), probes };
  }
}
