import { performance } from 'node:perf_hooks';

/** Returned by `beforeDeadline` when the signal aborted first. */
export const DEADLINE_PASSED = Symbol('deadline passed');

/**
 * Settles with `work`, or with DEADLINE_PASSED as soon as `signal` aborts.
 * For work that cannot be cancelled itself (a DNS lookup): the probe must
 * answer by its deadline even if the work goes on a little longer.
 */
export function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T | typeof DEADLINE_PASSED> {
  if (signal.aborted) {
    work.catch(() => undefined); // it may still reject later; nobody waits for it
    return Promise.resolve(DEADLINE_PASSED);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(DEADLINE_PASSED);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

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
