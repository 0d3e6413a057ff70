import type { BackgroundErrors } from '../time/background-errors.js';
import type { Clock } from '../time/clock.js';
import { deadline } from '../time/deadline.js';

/** The deadlines of one tick: every round started in it with the same timeout shares one signal. */
export interface TickDeadlines {
  /** Aborts `timeoutMs` after the tick fired. */
  signal(timeoutMs: number): AbortSignal;
}

/** A monitor as the scheduler sees it. */
export interface ScheduledRound {
  /** Called when its tick comes; `startedAtMs` is the tick's actual start. */
  startRound(deadlines: TickDeadlines, startedAtMs: number): void;
}

/**
 * Starts the rounds of all monitors of a process on a common tick. One timer
 * per tick instead of one per monitor, and one deadline timer per tick and
 * timeout instead of one per probe: with 10,000 monitors the per-round cost
 * of timers and abort signals was most of the process's CPU (see
 * docs/benchmark.md). Aligning rounds on a tick is also what lets one fping
 * process carry every ping of the tick.
 *
 * Not a PeriodicTask: its timers are booked per tick that has rounds, at
 * times the monitors choose, and a PeriodicTask per monitor would bring back
 * the per-round timers this class exists to avoid. It shares the loops'
 * error policy instead: a round that throws while starting is logged and
 * counted, and the other rounds of its tick still start (a try/catch that
 * does not throw costs nothing per round).
 */
export class RoundScheduler {
  private readonly buckets = new Map<number, Set<ScheduledRound>>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly tickMs: number;

  /** `tickMs` 0 disables alignment: rounds start on the millisecond they are due. */
  constructor(
    private readonly clock: Clock,
    tickMs: number,
    /** Without it a round that throws is rethrown once its tick's other rounds have started. */
    private readonly errors?: BackgroundErrors,
  ) {
    this.tickMs = tickMs > 0 ? tickMs : 1;
  }

  /** Books `round` on the first tick at or after `dueMs` (epoch ms) and returns that tick's time. */
  schedule(round: ScheduledRound, dueMs: number): number {
    const at = Math.ceil(dueMs / this.tickMs) * this.tickMs;
    let bucket = this.buckets.get(at);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(at, bucket);
      const timer = setTimeout(() => this.fire(at), Math.max(0, at - this.clock.now().getTime()));
      // Monitoring must not keep a process alive that is otherwise shutting down.
      timer.unref();
      this.timers.set(at, timer);
    }
    bucket.add(round);
    return at;
  }

  /** Takes a booked round off its tick (a stopped monitor). */
  cancel(round: ScheduledRound, at: number): void {
    const bucket = this.buckets.get(at);
    if (!bucket) return;
    bucket.delete(round);
    if (bucket.size > 0) return;
    this.buckets.delete(at);
    clearTimeout(this.timers.get(at));
    this.timers.delete(at);
  }

  /** Rounds booked and not yet started (for tests). */
  booked(): number {
    let count = 0;
    for (const bucket of this.buckets.values()) count += bucket.size;
    return count;
  }

  private fire(at: number): void {
    const bucket = this.buckets.get(at);
    this.buckets.delete(at);
    this.timers.delete(at);
    if (!bucket) return;
    const deadlines = new SharedDeadlines();
    const startedAtMs = this.clock.now().getTime();
    let thrown: { error: unknown } | undefined;
    for (const round of bucket) {
      try {
        round.startRound(deadlines, startedAtMs);
      } catch (error) {
        if (this.errors) this.errors.failed(error, {}, 'a round failed to start; the other rounds of its tick started');
        else thrown ??= { error };
      }
    }
    if (thrown) throw thrown.error;
  }
}

/** Deadline signals of one tick, made on first use (never disposed: the tick's rounds end by them). */
class SharedDeadlines implements TickDeadlines {
  private readonly byTimeout = new Map<number, AbortSignal>();

  signal(timeoutMs: number): AbortSignal {
    let signal = this.byTimeout.get(timeoutMs);
    if (!signal) {
      signal = deadline(timeoutMs).signal;
      this.byTimeout.set(timeoutMs, signal);
    }
    return signal;
  }
}
