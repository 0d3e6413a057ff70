/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half is
 * random, so retries of many subscriptions after one outage spread out but
 * none retries much earlier than planned.
 */
export function retryDelayMs(retry: number, baseMs: number, capMs: number, random: () => number): number {
  const exponential = Math.min(capMs, baseMs * 2 ** Math.min(retry, 30));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}
