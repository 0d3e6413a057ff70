/**
 * Synthetic status history for the history phase (history-run.ts): what a
 * fleet of VIMs could plausibly have recorded, deterministic (seeded by VIM
 * and day), with the mix the storage has to hold in practice: most VIMs
 * steady, some flapping several times a day, a few down for hours, a few
 * with weekly maintenance, and now and then an unknown gap (a restart).
 */
import { emptyTotals, HOUR_MS, type HistoryDay, type PeriodTotals, type ProbeStats } from '../src/history/model.js';

/** The shares of the mix, by VIM index modulo 100. */
export const MIX = { steady: 0.85, flapping: 0.1, longOutages: 0.03, maintenance: 0.02 } as const;

type Profile = 'steady' | 'flapping' | 'long-outages' | 'maintenance';

export function profileOf(vimIndex: number): Profile {
  const slot = vimIndex % 100;
  if (slot < 85) return 'steady';
  if (slot < 95) return 'flapping';
  if (slot < 98) return 'long-outages';
  return 'maintenance';
}

/** mulberry32: small, fast, good enough for synthetic data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHECK_INTERVAL_MS = 10_000; // the monitor's default interval; icmp and api each run once a round
type Interval = [number, number];

/** Overlap of [start, end) with the intervals, in ms. */
function overlap(intervals: readonly Interval[], start: number, end: number): number {
  let total = 0;
  for (const [a, b] of intervals) total += Math.max(0, Math.min(b, end) - Math.max(a, start));
  return total;
}

function probe(rand: () => number, coveredMs: number, downMs: number, baseMs: number): ProbeStats {
  const checks = Math.round(coveredMs / CHECK_INTERVAL_MS);
  const failed = Math.min(checks, Math.round(downMs / CHECK_INTERVAL_MS) + (rand() < 0.05 ? 1 : 0));
  if (checks === failed) return { checks, failed, p50: null, p95: null, max: null };
  const p50 = baseMs * (0.9 + 0.2 * rand());
  const p95 = p50 * (1.2 + 1.5 * rand());
  const max = p95 * (1 + 3 * rand() * rand());
  return { checks, failed, p50, p95, max };
}

/**
 * One VIM's day. `coverUntilMs` (ms into the day) ends what was observed:
 * today is covered up to now only. Hours entirely after it are null.
 */
export function synthDay(vimId: string, vimIndex: number, day: number, coverUntilMs = 24 * HOUR_MS): HistoryDay {
  const rand = random(vimIndex * 1_000_003 + day * 7919);
  const profile = profileOf(vimIndex);
  const down: Interval[] = [];
  const maintenance: Interval[] = [];
  const unknown: Interval[] = [];
  const episode = (minMs: number, maxMs: number) => {
    const length = minMs + (maxMs - minMs) * rand();
    const start = rand() * (24 * HOUR_MS - length);
    down.push([start, start + length]);
  };
  if (profile === 'steady') {
    if (rand() < 0.02) episode(30_000, 90_000);
  } else if (profile === 'flapping') {
    const episodes = 3 + Math.floor(rand() * 8);
    for (let i = 0; i < episodes; i++) episode(20_000, 600_000);
  } else if (profile === 'long-outages') {
    if (rand() < 0.1) episode(2 * HOUR_MS, 8 * HOUR_MS);
    else if (rand() < 0.1) episode(30_000, 300_000);
  } else if (day % 7 === vimIndex % 7) {
    // A weekly two-hour window, during which the VIM is down half of the time.
    const start = (1 + (vimIndex % 4)) * HOUR_MS;
    maintenance.push([start, start + 2 * HOUR_MS]);
    down.push([start + 30 * 60_000, start + 90 * 60_000]);
  }
  // A worker restart now and then: a few minutes nobody observed, then pending until the first verdict.
  let pending: Interval | undefined;
  if (rand() < 0.01) {
    const start = rand() * 23 * HOUR_MS;
    const end = start + 60_000 + rand() * 300_000;
    unknown.push([start, end]);
    pending = [end, end + 20_000];
  }
  if (coverUntilMs < 24 * HOUR_MS) unknown.push([coverUntilMs, 24 * HOUR_MS]);
  const icmpBase = 0.2 + (vimIndex % 37) * 0.6;
  const apiBase = 25 + (vimIndex % 53) * 5;
  const hours: Array<PeriodTotals | null> = [];
  const totals = emptyTotals();
  const icmpDay: ProbeStats[] = [];
  const apiDay: ProbeStats[] = [];
  for (let h = 0; h < 24; h++) {
    const start = h * HOUR_MS;
    const end = start + HOUR_MS;
    const unknownMs = overlap(unknown, start, end);
    const coveredMs = HOUR_MS - unknownMs;
    if (coveredMs <= 0) {
      hours.push(null);
      continue;
    }
    const pendingMs = pending ? overlap([pending], start, end) : 0;
    const downMs = Math.min(coveredMs - pendingMs, overlap(down, start, end));
    const maintenanceMs = overlap(maintenance, start, end);
    let maintenanceDownMs = 0;
    for (const [a, b] of maintenance) maintenanceDownMs += overlap(down, Math.max(a, start), Math.min(b, end));
    maintenanceDownMs = Math.min(downMs, maintenanceDownMs);
    // Each down episode starting or ending in this hour is a condition change.
    let changes = 0;
    for (const [a, b] of down) {
      if (a >= start && a < end) changes += 1;
      if (b >= start && b < end) changes += 1;
    }
    const hour: PeriodTotals = {
      reachableMs: Math.round(coveredMs - pendingMs - downMs),
      unreachableMs: Math.round(downMs),
      pendingMs: Math.round(pendingMs),
      maintenanceReachableMs: Math.round(Math.max(0, maintenanceMs - maintenanceDownMs)),
      maintenanceUnreachableMs: Math.round(maintenanceDownMs),
      conditionChanges: changes,
      probes: { icmp: probe(rand, coveredMs, downMs, icmpBase), api: probe(rand, coveredMs, downMs, apiBase) },
    };
    hours.push(hour);
    totals.reachableMs += hour.reachableMs;
    totals.unreachableMs += hour.unreachableMs;
    totals.pendingMs += hour.pendingMs;
    totals.maintenanceReachableMs += hour.maintenanceReachableMs;
    totals.maintenanceUnreachableMs += hour.maintenanceUnreachableMs;
    totals.conditionChanges += changes;
    icmpDay.push(hour.probes.icmp!);
    apiDay.push(hour.probes.api!);
  }
  return { ...totals, probes: { icmp: daySummary(icmpDay), api: daySummary(apiDay) }, vimId, day, hours, updatedAtMs: day * 24 * HOUR_MS + coverUntilMs };
}

/** The day's figure per probe from its hours (the recorder keeps exact samples; for storage size this is close enough). */
function daySummary(hours: readonly ProbeStats[]): ProbeStats {
  const of = (pick: (s: ProbeStats) => number | null) => hours.map(pick).filter((v): v is number => v !== null);
  const p50s = of((s) => s.p50).sort((a, b) => a - b);
  const p95s = of((s) => s.p95).sort((a, b) => a - b);
  const maxes = of((s) => s.max);
  return {
    checks: hours.reduce((sum, s) => sum + s.checks, 0),
    failed: hours.reduce((sum, s) => sum + s.failed, 0),
    p50: p50s.length > 0 ? p50s[Math.floor(p50s.length / 2)]! : null,
    p95: p95s.length > 0 ? p95s[Math.floor(p95s.length * 0.95)]! : null,
    max: maxes.length > 0 ? Math.max(...maxes) : null,
  };
}
