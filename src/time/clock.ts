/** Time is injected everywhere so that tests of expiry, thresholds and sweeps are deterministic. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Tacker's timestamp format: `YYYY-MM-DD hh:mm:ss.ffffff` in UTC without a zone. */
export function tackerTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}.${String(date.getUTCMilliseconds()).padStart(3, '0')}000`;
}
