import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { PeriodTotals, ProbeStats, ProbeStatsByName } from './model.js';

/**
 * The 24 hours of a stored day (vim_history_hours), as compact as plain
 * tools allow: positional JSON arrays (no key names repeated 24 times),
 * deflated: about 600 bytes a day for the benchmark's mix of VIMs, 750-790
 * bytes a row with its key, so 10,000 VIMs × 90 days of hourly detail take
 * about 0.7 GB on SQLite and PostgreSQL alike, and the daily rows of the
 * default 730 days another 1.2-2.0 GB (docs/benchmark.md, "Status history
 * storage"). Latencies are rounded to µs.
 *
 * Hour:  [reachable, unreachable, pending, maintenanceReachable, maintenanceUnreachable, conditionChanges, probes]
 * Probe: { name: [checks, failed, p50, p95, max] }
 */
type EncodedProbe = [number, number, number | null, number | null, number | null];
type EncodedHour = [number, number, number, number, number, number, Record<string, EncodedProbe>] | null;

const CODEC_VERSION = 1;

/*
 * zlib's one-shot calls write into chunks of 16 KiB by default and return a
 * slice of the first: a 600-byte result then keeps 16 KiB of memory outside
 * the JavaScript heap alive. A flush holds a batch of them across its SQL, so
 * scavenges promote them and 10,000 VIMs' days pinned tens of MB until the
 * next full GC (the benchmark's RSS jumped 51 MB at the first flush). Chunks
 * near the real sizes: a deflated day fits in one 1 KiB chunk (more chunks are
 * joined), an inflated one in 8 KiB; the result is then copied out of them.
 */
const DEFLATE_CHUNK = 1024;
const INFLATE_CHUNK = 8192;

export function encodeHours(hours: ReadonlyArray<PeriodTotals | null>): Buffer {
  const encoded: EncodedHour[] = hours.map((hour) =>
    hour === null
      ? null
      : [hour.reachableMs, hour.unreachableMs, hour.pendingMs, hour.maintenanceReachableMs, hour.maintenanceUnreachableMs, hour.conditionChanges, encodeProbes(hour.probes)],
  );
  const deflated = deflateRawSync(Buffer.from(JSON.stringify([CODEC_VERSION, encoded])), { chunkSize: DEFLATE_CHUNK });
  // Its own memory (Buffer.alloc never slices the shared 8 KiB pool): a slice of the pool would keep the whole slab alive.
  const own = Buffer.alloc(deflated.length);
  deflated.copy(own);
  return own;
}

export function decodeHours(blob: Uint8Array): Array<PeriodTotals | null> {
  const parsed = JSON.parse(inflateRawSync(blob, { chunkSize: INFLATE_CHUNK }).toString('utf8')) as [number, EncodedHour[]];
  if (parsed[0] !== CODEC_VERSION) throw new Error(`stored history hours have codec version ${String(parsed[0])}, this build reads ${CODEC_VERSION}`);
  return parsed[1].map((hour) =>
    hour === null
      ? null
      : {
          reachableMs: hour[0],
          unreachableMs: hour[1],
          pendingMs: hour[2],
          maintenanceReachableMs: hour[3],
          maintenanceUnreachableMs: hour[4],
          conditionChanges: hour[5],
          probes: decodeProbes(hour[6]),
        },
  );
}

/** The day's probe summary column (plain JSON text: small, and readable in a SQL shell). */
export function encodeProbeSummary(probes: ProbeStatsByName): string {
  return JSON.stringify(encodeProbes(probes));
}

export function decodeProbeSummary(text: string): ProbeStatsByName {
  return decodeProbes(JSON.parse(text) as Record<string, EncodedProbe>);
}

const micro = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 1000) / 1000);

function encodeProbes(probes: ProbeStatsByName): Record<string, EncodedProbe> {
  const out: Record<string, EncodedProbe> = {};
  for (const [name, stats] of Object.entries(probes)) {
    if (stats) out[name] = [stats.checks, stats.failed, micro(stats.p50), micro(stats.p95), micro(stats.max)];
  }
  return out;
}

function decodeProbes(encoded: Record<string, EncodedProbe>): ProbeStatsByName {
  const out: ProbeStatsByName = {};
  for (const [name, [checks, failed, p50, p95, max]] of Object.entries(encoded)) out[name] = { checks, failed, p50, p95, max } satisfies ProbeStats;
  return out;
}
