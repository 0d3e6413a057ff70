import { addLatency, BUCKETS, countOf, quantile } from './latency-histogram.js';
import { encodeHours, hoursWriter, MAX_BINARY_PROBES } from './codec.js';
import { HOUR_MS, type DayToSave, type HistoryDay, type PeriodTotals, type ProbeStatsByName } from './model.js';

/**
 * One VIM's day as the recorder keeps it between flushes: every figure of
 * its 24 hours, and the latency histograms of the hour still open, in one
 * slot of a pool shared by all VIMs with as many probes (BlockPool: no
 * object per hour or probe, and no typed array per day, which would cost
 * ~190 bytes of its own). 10,000 VIMs × 2 probes stay under 20 MB this way
 * (bench/history-memory.ts).
 *
 * Hour h:               [h·11 ...]   5 durations in ms as two 16-bit halves (reachable, unreachable, pending,
 *                                    maintenance reachable, maintenance unreachable), then condition changes
 * Probe p, hour h:      [264 + (p·24 + h)·6 ...]  checks, failed, p50 code, p95 code, max in µs + 1 (two halves; 0: none)
 * Probe p's histogram:  [264 + P·144 + p·(BUCKETS + 1) ...]  the open hour's buckets, then its own checks
 *
 * p50/p95 codes are logarithmic (±0.025 %, far below the histogram's ±10 %;
 * 0: none); the max is kept to the µs, as the stored form keeps it.
 */
export const REACHABLE = 0;
export const UNREACHABLE = 1;
export const PENDING = 2;
export const MAINTENANCE_REACHABLE = 3;
export const MAINTENANCE_UNREACHABLE = 4;
const CONDITION_CHANGES = 10;
/** In HOUR_FIGURES, after the five durations. */
const HOUR_CHANGES = 5;
const HOUR_SLOTS = 11;
const HOURS_END = 24 * HOUR_SLOTS;
const PROBE_SLOTS = 6;
const CHECKS = 0;
const FAILED = 1;
const P50 = 2;
const P95 = 3;
const MAX = 4;
const STRIDE = BUCKETS + 1;
const U16 = 0xffff;
/** One hour's and one probe's figures as toDay and toSaved read them (reused: no array per hour or probe). */
const HOUR_FIGURES = new Float64Array(6);
const PROBE_FIGURES = new Float64Array(5);

const CODE_BASE_MS = 0.001;
const CODE_STEP = Math.log(1.0005);

function encodeLatency(ms: number): number {
  if (Number.isNaN(ms)) return 0;
  if (!(ms > CODE_BASE_MS)) return 1;
  return Math.min(U16, 1 + Math.round(Math.log(ms / CODE_BASE_MS) / CODE_STEP));
}

function decodeLatency(code: number): number {
  return code === 0 ? Number.NaN : CODE_BASE_MS * Math.exp((code - 1) * CODE_STEP);
}

function probeAt(probe: number, hour: number): number {
  return HOURS_END + (probe * 24 + hour) * PROBE_SLOTS;
}

/**
 * Slots of one size (one per probe count) in Uint16Array chunks of 64
 * slots (no copying as it grows, at most one chunk unused); a freed slot is
 * zeroed and reused.
 */
export class BlockPool {
  private readonly chunks: Uint16Array[] = [];
  private used = 0;
  private readonly free: number[] = [];
  readonly slotSize: number;

  constructor(readonly probes: number) {
    this.slotSize = HOURS_END + probes * (24 * PROBE_SLOTS + STRIDE);
  }

  /** A free slot's number. */
  allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used % SLOTS_PER_CHUNK === 0) this.chunks.push(new Uint16Array(this.slotSize * SLOTS_PER_CHUNK));
    return this.used++;
  }

  chunkOf(slot: number): Uint16Array {
    return this.chunks[Math.floor(slot / SLOTS_PER_CHUNK)]!;
  }

  offsetOf(slot: number): number {
    return (slot % SLOTS_PER_CHUNK) * this.slotSize;
  }

  release(slot: number): void {
    const at = this.offsetOf(slot);
    this.chunkOf(slot).fill(0, at, at + this.slotSize);
    this.free.push(slot);
  }
}

const SLOTS_PER_CHUNK = 64;

/** The pools of one recorder, by probe count. */
export class BlockPools {
  private readonly pools: BlockPool[] = [];

  of(probes: number): BlockPool {
    let pool = this.pools[probes];
    if (!pool) this.pools[probes] = pool = new BlockPool(probes);
    return pool;
  }
}

export class DayBlock {
  private pool: BlockPool;
  private slot: number;
  /** The pool's chunk holding this block, and where in it. */
  private data: Uint16Array;
  private at: number;
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
    pools: BlockPools,
    probes: number,
  ) {
    this.pool = pools.of(probes);
    this.slot = this.pool.allocate();
    this.data = this.pool.chunkOf(this.slot);
    this.at = this.pool.offsetOf(this.slot);
  }

  /** Gives the slot back: the block is not used afterwards. */
  release(): void {
    this.pool.release(this.slot);
  }

  private histAt(probe: number): number {
    return this.at + HOURS_END + this.pool.probes * 24 * PROBE_SLOTS + probe * STRIDE;
  }

  get dirty(): boolean {
    return this.version !== this.savedVersion;
  }

  /** Room for more probes (a VIM's settings gained one): rare, so the figures are copied. */
  grow(pools: BlockPools, probes: number): void {
    const old = this.pool;
    const [oldSlot, oldData, oldAt] = [this.slot, this.data, this.at];
    const pool = pools.of(probes);
    const slot = pool.allocate();
    const data = pool.chunkOf(slot);
    const at = pool.offsetOf(slot);
    const probesEnd = HOURS_END + old.probes * 24 * PROBE_SLOTS;
    data.set(oldData.subarray(oldAt, oldAt + probesEnd), at);
    data.set(oldData.subarray(oldAt + probesEnd, oldAt + old.slotSize), at + HOURS_END + probes * 24 * PROBE_SLOTS);
    old.release(oldSlot);
    [this.pool, this.slot, this.data, this.at] = [pool, slot, data, at];
  }

  // ---- figures

  durationMs(hour: number, field: number): number {
    const f = this.data;
    const at = this.at + hour * HOUR_SLOTS + field * 2;
    return f[at]! * 0x10000 + f[at + 1]!;
  }

  addMs(hour: number, field: number, ms: number): void {
    const f = this.data;
    const at = this.at + hour * HOUR_SLOTS + field * 2;
    const total = f[at]! * 0x10000 + f[at + 1]! + Math.round(ms);
    f[at] = Math.floor(total / 0x10000);
    f[at + 1] = total % 0x10000;
    this.touch(hour);
  }

  addConditionChanges(hour: number, count: number): void {
    const f = this.data;
    const at = this.at + hour * HOUR_SLOTS + CONDITION_CHANGES;
    f[at] = Math.min(U16, f[at]! + count);
    this.touch(hour);
  }

  private probeAt(probe: number, hour: number): number {
    return this.at + probeAt(probe, hour);
  }

  /** One check of probe p in hour h; its latency goes into the open hour's histogram (h must be that hour). */
  check(p: number, hour: number, ok: boolean, latencyMs: number | undefined): void {
    const f = this.data;
    const q = this.probeAt(p, hour);
    if (f[q + CHECKS]! < U16) f[q + CHECKS]! += 1;
    if (!ok && f[q + FAILED]! < U16) f[q + FAILED]! += 1;
    const hist = this.histAt(p);
    if (f[hist + BUCKETS]! < U16) f[hist + BUCKETS]! += 1;
    if (latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      addLatency(f, hist, latencyMs);
      if (latencyMs > this.max(q)) this.setMax(q, latencyMs);
    }
    this.touch(hour);
  }

  /** p50/p95 of probe p in the open hour h: the histogram's, weighed by checks with a stored part of that hour. */
  openPercentiles(p: number, hour: number): [number, number] {
    const f = this.data;
    const q = this.probeAt(p, hour);
    const hist = this.histAt(p);
    const own = countOf(f, hist);
    const storedP50 = decodeLatency(f[q + P50]!);
    const storedP95 = decodeLatency(f[q + P95]!);
    if (own === 0) return [storedP50, storedP95];
    const storedChecks = f[q + CHECKS]! - f[hist + BUCKETS]!;
    const max = this.max(q);
    // A bucket's middle may lie above the largest latency seen: never report a percentile above the max.
    const cap = (value: number) => (max < 0 ? value : Math.min(value, max));
    return [cap(weighted(quantile(f, hist, own, 0.5), own, storedP50, storedChecks)), cap(weighted(quantile(f, hist, own, 0.95), own, storedP95, storedChecks))];
  }

  /** The open hour h is over: its percentiles become final and the histograms empty for the next hour. */
  closeHour(hour: number): void {
    const f = this.data;
    for (let p = 0; p < this.pool.probes; p++) {
      const [p50, p95] = this.openPercentiles(p, hour);
      const q = this.probeAt(p, hour);
      f[q + P50] = encodeLatency(p50);
      f[q + P95] = encodeLatency(p95);
    }
    f.fill(0, this.histAt(0), this.at + this.pool.slotSize);
    this.version += 1;
  }

  /** The largest latency of probe slot q, ms (-1: none). */
  private max(q: number): number {
    const f = this.data;
    const code = f[q + MAX]! * 0x10000 + f[q + MAX + 1]!;
    return code === 0 ? -1 : (code - 1) / 1000;
  }

  private setMax(q: number, ms: number): void {
    const code = Math.min(0xffffffff, Math.round(ms * 1000) + 1);
    const f = this.data;
    f[q + MAX] = Math.floor(code / 0x10000);
    f[q + MAX + 1] = code % 0x10000;
  }

  private touch(hour: number): void {
    this.present |= 1 << hour;
    this.version += 1;
  }

  // ---- stored days

  /**
   * Adds a stored day (another owner's hours, or this worker's previous
   * life) to what this block holds: durations and counts add up, max is the
   * larger, p50/p95 the check-weighted mean. `openHour`: the hour whose own
   * percentiles are still in the histogram; there the stored ones wait for
   * the hour's close to be weighed in.
   */
  addStored(stored: HistoryDay, probes: readonly string[], openHour: number): void {
    this.version += 1;
    if (stored.hours === null) {
      this.base = stored;
      return;
    }
    const f = this.data;
    for (let h = 0; h < 24; h++) {
      const hour = stored.hours[h];
      if (!hour) continue;
      this.addMs(h, REACHABLE, hour.reachableMs);
      this.addMs(h, UNREACHABLE, hour.unreachableMs);
      this.addMs(h, PENDING, hour.pendingMs);
      this.addMs(h, MAINTENANCE_REACHABLE, hour.maintenanceReachableMs);
      this.addMs(h, MAINTENANCE_UNREACHABLE, hour.maintenanceUnreachableMs);
      this.addConditionChanges(h, hour.conditionChanges);
      for (let p = 0; p < probes.length; p++) {
        const theirs = hour.probes[probes[p]!];
        if (!theirs) continue;
        const q = this.probeAt(p, h);
        const ownChecks = f[q + CHECKS]!;
        f[q + CHECKS] = Math.min(U16, ownChecks + theirs.checks);
        f[q + FAILED] = Math.min(U16, f[q + FAILED]! + theirs.failed);
        if (theirs.max !== null && theirs.max > this.max(q)) this.setMax(q, theirs.max);
        if (h === openHour) {
          f[q + P50] = encodeLatency(theirs.p50 ?? Number.NaN);
          f[q + P95] = encodeLatency(theirs.p95 ?? Number.NaN);
        } else {
          f[q + P50] = encodeLatency(weighted(decodeLatency(f[q + P50]!), ownChecks, theirs.p50, theirs.checks));
          f[q + P95] = encodeLatency(weighted(decodeLatency(f[q + P95]!), ownChecks, theirs.p95, theirs.checks));
        }
      }
    }
  }

  /** The day as stored. `openHour` (or -1) is the hour still collecting latencies: its percentiles so far, without closing it. */
  toDay(vimId: string, probes: readonly string[], updatedAtMs: number, openHour: number): HistoryDay {
    const hours: Array<PeriodTotals | null> = [];
    for (let h = 0; h < 24; h++) {
      if ((this.present & (1 << h)) === 0) {
        hours.push(null);
        continue;
      }
      const d = this.hourFigures(h);
      const stats: ProbeStatsByName = {};
      for (let p = 0; p < probes.length; p++) {
        const x = this.probeFigures(p, h, openHour);
        if (x) stats[probes[p]!] = { checks: x[CHECKS]!, failed: x[FAILED]!, p50: orNull(x[P50]!), p95: orNull(x[P95]!), max: orNull(x[MAX]!) };
      }
      hours.push({
        reachableMs: d[REACHABLE]!,
        unreachableMs: d[UNREACHABLE]!,
        pendingMs: d[PENDING]!,
        maintenanceReachableMs: d[MAINTENANCE_REACHABLE]!,
        maintenanceUnreachableMs: d[MAINTENANCE_UNREACHABLE]!,
        conditionChanges: d[HOUR_CHANGES]!,
        probes: stats,
      });
    }
    return { vimId, day: this.day, ...totalsOf(hours, this.base), hours, updatedAtMs };
  }

  /**
   * The day as a flush writes it: what toDay gives, with the hours encoded
   * straight from the slots (codec.ts), so a flush of every VIM's day makes
   * no object per hour or probe. A day the binary form cannot hold (more
   * probes than it takes) goes through toDay.
   */
  toSaved(vimId: string, probes: readonly string[], updatedAtMs: number, openHour: number): DayToSave {
    if (probes.length > MAX_BINARY_PROBES) {
      const day = this.toDay(vimId, probes, updatedAtMs, openHour);
      return { ...day, hours: encodeHours(day.hours!) };
    }
    const totals = new DayTotals(this.base);
    let held = true;
    hoursWriter.begin(probes, this.present);
    for (let h = 0; h < 24; h++) {
      if ((this.present & (1 << h)) === 0) continue;
      const d = this.hourFigures(h);
      totals.addDurations(d[REACHABLE]!, d[UNREACHABLE]!, d[PENDING]!, d[MAINTENANCE_REACHABLE]!, d[MAINTENANCE_UNREACHABLE]!, d[HOUR_CHANGES]!);
      let mask = 0;
      for (let p = 0; p < probes.length; p++) if (this.data[this.probeAt(p, h) + CHECKS]! > 0) mask |= 1 << p;
      held &&= hoursWriter.hour(d[REACHABLE]!, d[UNREACHABLE]!, d[PENDING]!, d[MAINTENANCE_REACHABLE]!, d[MAINTENANCE_UNREACHABLE]!, d[HOUR_CHANGES]!, mask);
      for (let p = 0; p < probes.length; p++) {
        const x = this.probeFigures(p, h, openHour);
        if (!x) continue;
        const p50 = orNull(x[P50]!);
        const p95 = orNull(x[P95]!);
        const max = orNull(x[MAX]!);
        held &&= hoursWriter.probe(p, x[CHECKS]!, x[FAILED]!, p50, p95, max);
        totals.addProbe(probes[p]!, x[CHECKS]!, x[FAILED]!, p50, p95, max);
      }
    }
    // Slots hold whole ms, counts and latencies only, which the writer takes; the figures path stays as the fallback.
    const hours = held ? hoursWriter.end() : encodeHours(this.toDay(vimId, probes, updatedAtMs, openHour).hours!);
    return { vimId, day: this.day, ...totals.result(), hours, updatedAtMs };
  }

  /** Hour h's durations and condition changes, in HOUR_FIGURES (reused: read before the next call). */
  private hourFigures(h: number): Float64Array {
    const d = HOUR_FIGURES;
    for (let field = REACHABLE; field <= MAINTENANCE_UNREACHABLE; field++) d[field] = this.durationMs(h, field);
    // Two owners that both watched part of the same stretch (a takeover before the old one noticed) must not make an hour longer than an hour.
    const covered = d[REACHABLE]! + d[UNREACHABLE]! + d[PENDING]!;
    if (covered > HOUR_MS) {
      const scale = HOUR_MS / covered;
      d[REACHABLE] = Math.floor(d[REACHABLE]! * scale);
      d[UNREACHABLE] = Math.floor(d[UNREACHABLE]! * scale);
      d[PENDING] = Math.floor(d[PENDING]! * scale);
      d[MAINTENANCE_REACHABLE] = Math.min(d[REACHABLE]!, Math.floor(d[MAINTENANCE_REACHABLE]! * scale));
      d[MAINTENANCE_UNREACHABLE] = Math.min(d[UNREACHABLE]!, Math.floor(d[MAINTENANCE_UNREACHABLE]! * scale));
    }
    d[HOUR_CHANGES] = this.data[this.at + h * HOUR_SLOTS + CONDITION_CHANGES]!;
    return d;
  }

  /** Probe p's figures in hour h, in PROBE_FIGURES indexed like a probe slot (latencies in ms, NaN: none); undefined without checks. */
  private probeFigures(p: number, h: number, openHour: number): Float64Array | undefined {
    const f = this.data;
    const q = this.probeAt(p, h);
    const checks = f[q + CHECKS]!;
    if (checks === 0) return undefined;
    const x = PROBE_FIGURES;
    x[CHECKS] = checks;
    x[FAILED] = f[q + FAILED]!;
    if (h === openHour) {
      [x[P50], x[P95]] = this.openPercentiles(p, h);
    } else {
      x[P50] = decodeLatency(f[q + P50]!);
      x[P95] = decodeLatency(f[q + P95]!);
    }
    const max = this.max(q);
    x[MAX] = max < 0 ? Number.NaN : max;
    return x;
  }
}

/**
 * A day's totals from its hours. The day's p50/p95 are the check-weighted
 * means of the hourly ones: an approximation (a true day percentile would
 * need the day's histogram, and stored hours of a previous owner have none),
 * exact when the hours are alike and within the spread of the hours otherwise.
 */
export function totalsOf(hours: ReadonlyArray<PeriodTotals | null>, base?: PeriodTotals): PeriodTotals {
  const totals = new DayTotals(base);
  for (const hour of hours) {
    if (!hour) continue;
    totals.addDurations(hour.reachableMs, hour.unreachableMs, hour.pendingMs, hour.maintenanceReachableMs, hour.maintenanceUnreachableMs, hour.conditionChanges);
    for (const [name, stats] of Object.entries(hour.probes)) if (stats) totals.addProbe(name, stats.checks, stats.failed, stats.p50, stats.p95, stats.max);
  }
  return totals.result();
}

/** Sums a day's hours (after the stored rollup `base`, if any) into its totals, as totalsOf describes. */
class DayTotals {
  private readonly totals: PeriodTotals;
  private readonly sums = new Map<string, { checks: number; failed: number; max: number | null; p50: number; p95: number; weight: number }>();

  constructor(base: PeriodTotals | undefined) {
    this.totals = {
      reachableMs: base?.reachableMs ?? 0,
      unreachableMs: base?.unreachableMs ?? 0,
      pendingMs: base?.pendingMs ?? 0,
      maintenanceReachableMs: base?.maintenanceReachableMs ?? 0,
      maintenanceUnreachableMs: base?.maintenanceUnreachableMs ?? 0,
      conditionChanges: base?.conditionChanges ?? 0,
      probes: {},
    };
    if (base) for (const [name, stats] of Object.entries(base.probes)) if (stats) this.addProbe(name, stats.checks, stats.failed, stats.p50, stats.p95, stats.max);
  }

  addDurations(reachableMs: number, unreachableMs: number, pendingMs: number, maintenanceReachableMs: number, maintenanceUnreachableMs: number, conditionChanges: number): void {
    const totals = this.totals;
    totals.reachableMs += reachableMs;
    totals.unreachableMs += unreachableMs;
    totals.pendingMs += pendingMs;
    totals.maintenanceReachableMs += maintenanceReachableMs;
    totals.maintenanceUnreachableMs += maintenanceUnreachableMs;
    totals.conditionChanges += conditionChanges;
  }

  addProbe(name: string, checks: number, failed: number, p50: number | null, p95: number | null, max: number | null): void {
    let sum = this.sums.get(name);
    if (!sum) this.sums.set(name, (sum = { checks: 0, failed: 0, max: null, p50: 0, p95: 0, weight: 0 }));
    sum.checks += checks;
    sum.failed += failed;
    if (max !== null) sum.max = sum.max === null ? max : Math.max(sum.max, max);
    if (p50 !== null && p95 !== null) {
      sum.p50 += p50 * checks;
      sum.p95 += p95 * checks;
      sum.weight += checks;
    }
  }

  result(): PeriodTotals {
    for (const [name, sum] of this.sums) {
      this.totals.probes[name] = {
        checks: sum.checks,
        failed: sum.failed,
        p50: sum.weight > 0 ? sum.p50 / sum.weight : null,
        p95: sum.weight > 0 ? sum.p95 / sum.weight : null,
        max: sum.max,
      };
    }
    return this.totals;
  }
}

/** The check-weighted mean of two percentiles, either of which may be missing (NaN / null). */
export function weighted(own: number, ownWeight: number, theirs: number | null, theirWeight: number): number {
  const haveOwn = !Number.isNaN(own) && ownWeight > 0;
  const haveTheirs = theirs !== null && !Number.isNaN(theirs) && theirWeight > 0;
  if (haveOwn && haveTheirs) return (own * ownWeight + theirs * theirWeight) / (ownWeight + theirWeight);
  if (haveTheirs) return theirs;
  return own;
}

function orNull(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
