/** Upper bounds (ms) of the lateness histogram; the last bucket is everything above. */
const BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export interface RoundStatsSnapshot {
  /** Rounds whose start was scheduled. */
  scheduled: number;
  /** Rounds that started. */
  executed: number;
  /** Executed rounds that started more than 1 s after their scheduled time. */
  late_over_1s: number;
  lateness_ms: { p50: number; p99: number; max: number };
}

/**
 * How punctual the monitors of this process are: every round reports how
 * long after its scheduled time it started. Fixed buckets keep this O(1) in
 * memory with 10,000 monitors; percentiles are bucket upper bounds.
 */
export class RoundStats {
  private scheduledCount = 0;
  private executedCount = 0;
  private lateOver1s = 0;
  private maxLateness = 0;
  private readonly buckets = new Array<number>(BUCKETS_MS.length + 1).fill(0);

  scheduled(): void {
    this.scheduledCount += 1;
  }

  executed(latenessMs: number): void {
    const lateness = Math.max(0, latenessMs);
    this.executedCount += 1;
    if (lateness > 1000) this.lateOver1s += 1;
    if (lateness > this.maxLateness) this.maxLateness = lateness;
    let index = 0;
    while (index < BUCKETS_MS.length && lateness > BUCKETS_MS[index]!) index += 1;
    this.buckets[index]! += 1;
  }

  snapshot(): RoundStatsSnapshot {
    return {
      scheduled: this.scheduledCount,
      executed: this.executedCount,
      late_over_1s: this.lateOver1s,
      lateness_ms: { p50: this.percentile(0.5), p99: this.percentile(0.99), max: Math.round(this.maxLateness) },
    };
  }

  private percentile(q: number): number {
    if (this.executedCount === 0) return 0;
    const rank = Math.ceil(q * this.executedCount);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= rank) return BUCKETS_MS[i] ?? Math.round(this.maxLateness);
    }
    return Math.round(this.maxLateness);
  }
}
