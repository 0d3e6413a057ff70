/**
 * Latency percentiles of one probe over one hour, from a compact log-bucket
 * histogram: bucket i (i ≥ 1) holds [MIN·R^(i-1), MIN·R^i) and answers with
 * its geometric middle, so a percentile is within ±10 % of the true value
 * (√1.21 = 1.1) for latencies between 0.05 ms and 1 minute; below goes to
 * bucket 0 (answered as 0.05 ms), above to the last. Counts are 16-bit
 * (an hour has at most 18,000 rounds at the smallest interval, 0.2 s), so a
 * probe's hour costs 2 × BUCKETS bytes, kept in one array shared by the
 * VIM's probes (no object per probe or per check).
 */

const MIN_MS = 0.05;
const RATIO = 1.21;
const LOG_RATIO = Math.log(RATIO);
const HALF_STEP = Math.sqrt(RATIO);
/** Buckets up to 1 minute (beyond every probe timeout that makes sense; the exact max is kept apart). */
export const BUCKETS = 2 + Math.ceil(Math.log(60_000 / MIN_MS) / LOG_RATIO);

export function bucketOf(latencyMs: number): number {
  if (!(latencyMs > MIN_MS)) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(latencyMs / MIN_MS) / LOG_RATIO));
}

/** What a bucket answers: the geometric middle of its bounds. */
export function bucketValue(bucket: number): number {
  return bucket === 0 ? MIN_MS : MIN_MS * RATIO ** (bucket - 1) * HALF_STEP;
}

/** Adds one latency to the histogram that starts at `offset` (saturating, never wrapping). */
export function addLatency(counts: Uint16Array, offset: number, latencyMs: number): void {
  const index = offset + bucketOf(latencyMs);
  if (counts[index]! < 0xffff) counts[index]! += 1;
}

/** The number of latencies in the histogram at `offset`. */
export function countOf(counts: Uint16Array, offset: number): number {
  let total = 0;
  for (let i = 0; i < BUCKETS; i++) total += counts[offset + i]!;
  return total;
}

/** The q-quantile (0 < q ≤ 1, nearest rank) of the histogram at `offset`; NaN when it is empty. */
export function quantile(counts: Uint16Array, offset: number, total: number, q: number): number {
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += counts[offset + i]!;
    if (seen >= rank) return bucketValue(i);
  }
  return bucketValue(BUCKETS - 1);
}
