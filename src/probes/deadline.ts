import { performance } from 'node:perf_hooks';

/** Milliseconds on a monotonic clock: latencies must not jump with the wall clock. */
export function monotonicMs(): number {
  return performance.now();
}

/** Whole milliseconds since `startedAt` (a monotonicMs() value), for reasons. */
export function elapsedMs(startedAt: number): number {
  return Math.round(monotonicMs() - startedAt);
}

/** Latency with 0.1 ms resolution: loopback answers in well under a millisecond. */
export function latencySince(startedAt: number): number {
  return Math.round((monotonicMs() - startedAt) * 10) / 10;
}

export function timedOutReason(startedAt: number): string {
  return `timed out after ${elapsedMs(startedAt)} ms`;
}
