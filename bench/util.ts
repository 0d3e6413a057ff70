/** Small helpers shared by the benchmark modules: time, bounded waits, percentiles, formatting. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Monotonic milliseconds. */
export const nowMs = (): number => performance.now();

export class TimeoutError extends Error {}

/**
 * Calls `probe` every `everyMs` until it returns a value other than
 * undefined, or throws a TimeoutError naming `what` after `timeoutMs`.
 * Every wait of the benchmark goes through here, so none is unbounded.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, options: { timeoutMs: number; everyMs: number }): Promise<T> {
  const deadline = nowMs() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (nowMs() >= deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new TimeoutError(`timed out after ${(options.timeoutMs / 1000).toFixed(0)} s waiting for ${what}${detail}`);
    }
    await sleep(Math.min(options.everyMs, Math.max(0, deadline - nowMs())));
  }
}

/** Runs `work` over `items` with at most `concurrency` in flight; resolves with results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      results[index] = await work(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Nearest-rank percentile of the samples (q in 0..1); undefined for no samples. */
export function percentile(samples: readonly number[], q: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

/**
 * Percentile over a population of `of` members of which only `samples` were
 * observed; the unobserved count as infinitely late, so a percentile that
 * falls on one of them is null.
 */
export function percentileOfPopulation(samples: readonly number[], of: number, q: number): number | null {
  if (of === 0) return null;
  const rank = Math.max(1, Math.ceil(q * of));
  if (rank > samples.length) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[rank - 1]!;
}

export const round = (value: number, digits = 2): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

export function fmt(value: number | undefined | null, digits = 1, unit = ''): string {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  if (!Number.isFinite(value)) return '∞';
  return `${value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}${unit}`;
}
