import type { BackgroundErrors } from '../time/background-errors.js';
import type { Clock } from '../time/clock.js';
import { deadline, type Deadline } from '../time/deadline.js';

/** The deadlines of one tick: every round started in it with the same timeout shares one signal. */
export interface TickDeadlines {
  /** Aborts `timeoutMs` after the tick fired. */
  signal(timeoutMs: number): AbortSignal;
  /**
   * The round has ended (whatever the outcome): once every round of the tick
   * has said so, the tick's deadline timers are cleared. A tick's rounds
   * mostly end within milliseconds; a timer left to fire seconds later made
   * an exception and an abort event per tick for nobody (about 5 % of the
   * main thread's profile at 1,000 VIMs, issue 13). A round that never calls
   * it only leaves its tick's timers to fire.
   */
  readonly roundEnded: () => void;
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

  /**
   * Books `round` on the first tick at or after `dueMs` (epoch ms) and returns that tick's time. A round
   * whose interval (`intervalMs`) is shorter than the tick goes on a grid of its interval instead: a tick
   * longer than the interval would stretch the interval to the tick.
   */
  schedule(round: ScheduledRound, dueMs: number, intervalMs = Number.POSITIVE_INFINITY): number {
    const tick = intervalMs > 0 && intervalMs < this.tickMs ? intervalMs : this.tickMs;
    const at = Math.ceil(dueMs / tick) * tick;
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
      deadlines.running += 1;
      try {
        round.startRound(deadlines, startedAtMs);
      } catch (error) {
        deadlines.running -= 1;
        if (this.errors) this.errors.failed(error, {}, 'a round failed to start; the other rounds of its tick started');
        else thrown ??= { error };
      }
    }
    deadlines.allStarted();
    if (thrown) throw thrown.error;
  }
}

/** Deadline signals of one tick, made on first use, cleared when the tick's last round has ended. */
class SharedDeadlines implements TickDeadlines {
  private readonly byTimeout = new Map<number, Deadline>();
  /** Rounds started and not ended. */
  running = 0;
  private starting = true;

  signal(timeoutMs: number): AbortSignal {
    let made = this.byTimeout.get(timeoutMs);
    if (!made) {
      made = deadline(timeoutMs);
      this.byTimeout.set(timeoutMs, made);
    }
    return made.signal;
  }

  /** One function per tick, not a closure per round. */
  readonly roundEnded = (): void => {
    this.running -= 1;
    if (this.running === 0 && !this.starting) this.clear();
  };

  /** Every round of the tick is started: from now on the last one to end clears the timers. */
  allStarted(): void {
    this.starting = false;
    if (this.running === 0) this.clear();
  }

  private clear(): void {
    for (const made of this.byTimeout.values()) made.dispose();
  }
}
