import type { Clock } from '../time/clock.js';

/**
 * Event ids come from a sequence, but with several workers writing at once a
 * lower id can commit after a higher one. A reader that moved its cursor past
 * the higher id would skip the lower one for ever. So readers only go up to
 * the highest id that was already visible `settleMs` ago: by then every
 * transaction that took a lower id has committed (they last milliseconds).
 */
export class SafeHorizon {
  private readonly samples: Array<{ at: number; maxId: number }> = [];
  private horizon = 0;

  constructor(
    private readonly clock: Clock,
    private readonly settleMs: number,
  ) {}

  /** Records the newest id seen now; returns the id up to which reading is safe. */
  observe(maxId: number): number {
    const now = this.clock.now().getTime();
    this.samples.push({ at: now, maxId });
    while (this.samples.length > 0 && (this.samples[0] as { at: number }).at <= now - this.settleMs) {
      this.horizon = Math.max(this.horizon, (this.samples.shift() as { maxId: number }).maxId);
    }
    return this.horizon;
  }
}
