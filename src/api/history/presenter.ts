import type { VimHistory, VimUptime } from '../../history/history-reader.js';
import type { ProbeStatsByName } from '../../history/model.js';
import { uptimeOf, type Bucket, type Figures } from '../../history/uptime.js';

/** ISO 8601 UTC, whole seconds: `2026-12-01T10:00:00Z`. */
export function isoInstant(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** ms to s, kept to the ms (figures shared pro rata are fractions of a ms). */
const secondsOf = (ms: number): number => Math.round(ms) / 1000;
/** Uptime to six decimals: a 90-day window's second is 1.3e-7. */
const rounded = (value: number | null): number | null => (value === null ? null : Math.round(value * 1e6) / 1e6);
const latency = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 1000) / 1000);

function statusSeconds(figures: Figures): Record<string, number> {
  return {
    reachable_s: secondsOf(figures.reachableMs),
    unreachable_s: secondsOf(figures.unreachableMs),
    pending_s: secondsOf(figures.pendingMs),
    unknown_s: secondsOf(figures.unknownMs),
    maintenance_s: secondsOf(figures.maintenanceReachableMs + figures.maintenanceUnreachableMs),
  };
}

function presentProbes(probes: ProbeStatsByName): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, stats] of Object.entries(probes)) {
    if (stats) out[name] = { checks: stats.checks, failed: stats.failed, latency_ms: { p50: latency(stats.p50), p95: latency(stats.p95), max: latency(stats.max) } };
  }
  return out;
}

function presentBucket(bucket: Bucket): Record<string, unknown> {
  return {
    start: isoInstant(bucket.startMs),
    end: isoInstant(bucket.endMs),
    ...statusSeconds(bucket),
    uptime: rounded(uptimeOf(bucket, false)),
    condition_changes: bucket.conditionChanges,
    detail: bucket.detail,
    probes: presentProbes(bucket.probes),
  };
}

export function presentHistory(history: VimHistory): Record<string, unknown> {
  return {
    vim_id: history.vim.id,
    from: isoInstant(history.fromMs),
    to: isoInstant(history.toMs),
    step: history.step,
    buckets: history.buckets.map(presentBucket),
  };
}

export function presentUptime(uptime: VimUptime): Record<string, unknown> {
  return {
    vim_id: uptime.vim.id,
    vim_name: uptime.vim.name,
    window: uptime.window,
    from: isoInstant(uptime.fromMs),
    to: isoInstant(uptime.toMs),
    uptime: rounded(uptime.uptime),
    ...statusSeconds(uptime.figures),
    exclude_maintenance: uptime.excludeMaintenance,
  };
}
