import type { BackgroundErrors } from './background-errors.js';

/** Timers, injected so that tests can drive them; the default reads the global functions at each call (vitest's fake timers replace them). */
export interface Timer {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const systemTimer: Timer = {
  set: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // A background loop must not keep a process alive that is otherwise shutting down.
    handle.unref?.();
    return handle;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What a pass resolves to when the next one should wait for wake() (see PeriodicTaskOptions.run). */
export const SLEEP = 'sleep';

export interface PeriodicTaskOptions {
  /**
   * One pass. The signal aborts when the task is stopped; the pass may end early on it. A pass that resolves
   * SLEEP found nothing to do that could change without a wake(): the next pass waits for wake() instead of the
   * interval (a loop that polls an idle database would otherwise wake the process for nothing).
   */
  run(signal: AbortSignal): Promise<void | typeof SLEEP>;
  /** Pause from the end of one pass to the start of the next. Infinity: passes happen only on wake(). */
  intervalMs: number;
  /** Pause after the n-th failed pass in a row (n from 1); default intervalMs. */
  retryDelayMs?(failures: number): number;
  /** Classifies, logs and counts failed passes. */
  errors: BackgroundErrors;
  /** First pass at start() rather than one interval later. */
  immediate?: boolean;
  /** Pause from start() to the first pass, when not immediate (default intervalMs): spreads the first passes of many processes. */
  firstDelayMs?: number;
  timer?: Timer;
}

/**
 * A background loop: passes one at a time (never overlapping), an interval
 * apart (or, after a pass that says SLEEP, at the next wake()), each failure
 * handed to the error policy and the loop carrying on.
 * stop() is graceful (aborts the signal, waits for the pass in flight) and
 * idempotent: every call returns the same promise.
 */
export class PeriodicTask {
  private readonly timer: Timer;
  private readonly abort = new AbortController();
  private handle: unknown;
  private inFlight: Promise<void> | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private failures = 0;
  private again = false;
  /** The last pass resolved SLEEP. */
  private asleep = false;

  constructor(private readonly options: PeriodicTaskOptions) {
    this.timer = options.timer ?? systemTimer;
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    if (this.options.immediate) this.fire();
    else this.arm(this.options.firstDelayMs ?? this.options.intervalMs);
  }

  /**
   * Runs a pass now, or right after the one in flight. Ignored after a failed
   * pass until its retry is due (a wake-up must not defeat the back-off), and
   * before start() or after stop().
   */
  wake(): void {
    if (!this.started || this.stopping) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (this.failures > 0 && this.handle !== undefined) return;
    this.disarm();
    this.fire();
  }

  /** Whether a pass is running now. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.disarm();
    this.abort.abort();
    await this.inFlight;
  }

  private arm(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.handle = this.timer.set(() => {
      this.handle = undefined;
      this.fire();
    }, Math.max(0, ms));
  }

  private disarm(): void {
    if (this.handle === undefined) return;
    this.timer.clear(this.handle);
    this.handle = undefined;
  }

  private fire(): void {
    const pass = this.pass();
    this.inFlight = pass;
    void pass.then(() => {
      this.inFlight = undefined;
      if (this.stopping) return;
      const again = this.again && this.failures === 0;
      this.again = false;
      if (again) this.fire();
      else if (this.asleep) return;
      else this.arm(this.failures > 0 ? (this.options.retryDelayMs?.(this.failures) ?? this.options.intervalMs) : this.options.intervalMs);
    });
  }

  /** Never rejects: every failure goes to the error policy. */
  private async pass(): Promise<void> {
    this.asleep = false;
    try {
      this.asleep = (await this.options.run(this.abort.signal)) === SLEEP;
      this.failures = 0;
      this.options.errors.succeeded();
    } catch (error) {
      // A pass cut short by stop() is not a failure; anything else thrown while stopping still is.
      if (this.abort.signal.aborted && isAbortError(error)) return;
      this.failures += 1;
      this.options.errors.failed(error);
    }
  }
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
