import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger, LEVEL } from '../../test/support/log-capture.js';
import { DatabaseUnavailableError } from '../errors.js';
import { BackgroundErrors, type BackgroundErrorKind, type BackgroundTask } from './background-errors.js';
import { systemClock } from './clock.js';
import { PeriodicTask, SLEEP, type PeriodicTaskOptions } from './periodic-task.js';

/** Counts as the Prometheus recorder would, readable without a registry. */
function counter(): { counts: Map<string, number>; backgroundError(task: BackgroundTask, kind: BackgroundErrorKind): void } {
  const counts = new Map<string, number>();
  return { counts, backgroundError: (task, kind) => void counts.set(`${task}/${kind}`, (counts.get(`${task}/${kind}`) ?? 0) + 1) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('PeriodicTask', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function make(run: PeriodicTaskOptions['run'], extra: Partial<PeriodicTaskOptions> = {}) {
    const log = capturedLogger();
    const metrics = counter();
    const errors = new BackgroundErrors('sweep', { logger: log.logger, clock: systemClock, metrics });
    const task = new PeriodicTask({ run, intervalMs: 1_000, errors, ...extra });
    return { task, log, metrics };
  }

  it('starts a pass one interval after the end of the previous one', async () => {
    const starts: number[] = [];
    const { task } = make(async () => {
      starts.push(Date.now() - 1_000_000);
      await sleep(300);
    });
    task.start();
    await vi.advanceTimersByTimeAsync(3_700);
    expect(starts).toEqual([1_000, 2_300, 3_600]);
    const stopped = task.stop(); // waits for the pass that started at 3,600
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
  });

  it('never runs two passes at once: a wake-up during a pass gives one more pass right after it', async () => {
    let running = 0;
    let most = 0;
    let passes = 0;
    const { task } = make(async () => {
      running += 1;
      most = Math.max(most, running);
      passes += 1;
      await sleep(500);
      running -= 1;
    });
    task.start();
    await vi.advanceTimersByTimeAsync(1_100);
    expect(task.busy).toBe(true);
    task.wake();
    task.wake();
    await vi.advanceTimersByTimeAsync(400); // the first pass ends at 1,500 and the woken one starts at once
    expect(passes).toBe(2);
    await vi.advanceTimersByTimeAsync(500);
    expect(task.busy).toBe(false);
    expect(passes).toBe(2); // two wake-ups during one pass are one pass
    expect(most).toBe(1);
    await task.stop();
  });

  it('runs a pass at once on wake() between passes, and only on wake() with an infinite interval', async () => {
    let passes = 0;
    const { task } = make(async () => void (passes += 1), { intervalMs: Number.POSITIVE_INFINITY });
    task.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(passes).toBe(0);
    task.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(passes).toBe(1);
    await task.stop();
  });

  it('after a pass that says SLEEP, runs no pass until wake(), then goes back to its interval', async () => {
    const starts: number[] = [];
    let idle = true;
    const { task } = make(async () => {
      starts.push(Date.now() - 1_000_000);
      return idle ? SLEEP : undefined;
    });
    task.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toEqual([1_000]); // asleep since its first pass: no timer, no pass
    idle = false;
    task.wake();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(starts).toEqual([1_000, 60_000, 61_000, 62_000]);
    idle = true;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([1_000, 60_000, 61_000, 62_000, 63_000]); // the pass at 63,000 found nothing: asleep again
    await task.stop();
  });

  it('retries a failed pass after its delay even though the pass before it said SLEEP', async () => {
    const starts: number[] = [];
    let fail = false;
    const { task } = make(
      async () => {
        starts.push(Date.now() - 1_000_000);
        if (fail) throw new DatabaseUnavailableError();
        return SLEEP;
      },
      { retryDelayMs: () => 250 },
    );
    task.start();
    await vi.advanceTimersByTimeAsync(1_000);
    fail = true;
    task.wake();
    await vi.advanceTimersByTimeAsync(600);
    expect(starts).toEqual([1_000, 1_000, 1_250, 1_500]);
    fail = false;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(starts).toEqual([1_000, 1_000, 1_250, 1_500, 1_750]);
    await task.stop();
  });

  it('stops gracefully: aborts the signal, waits for the pass in flight, runs no more, and every stop() is the same', async () => {
    let finished = false;
    let sawAbort = false;
    let passes = 0;
    const { task } = make(async (signal) => {
      passes += 1;
      await sleep(2_000);
      sawAbort = signal.aborted;
      finished = true;
    });
    task.start();
    await vi.advanceTimersByTimeAsync(1_500);
    const first = task.stop();
    const second = task.stop();
    expect(second).toBe(first);
    let stopped = false;
    void first.then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(stopped).toBe(false); // the pass is still running
    await vi.advanceTimersByTimeAsync(600);
    expect(stopped).toBe(true);
    expect(finished).toBe(true);
    expect(sawAbort).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(passes).toBe(1);
    task.start();
    task.wake();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(passes).toBe(1);
    await task.stop();
  });

  it('keeps running after a pass throws: the error is logged at error level with the error and counted as unexpected', async () => {
    let passes = 0;
    const { task, log, metrics } = make(async () => {
      passes += 1;
      if (passes === 1) throw new TypeError("Cannot read properties of undefined (reading 'id')");
    });
    task.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(passes).toBe(3);
    const errors = log.lines.filter((line) => line.level === LEVEL.error);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ task: 'sweep', msg: 'sweep failed unexpectedly', err: { type: 'TypeError' } });
    expect(metrics.counts.get('sweep/unexpected')).toBe(1);
    await task.stop();
  });

  it('logs a database outage once per episode with a count, then one line when it ends', async () => {
    let down = true;
    const { task, log, metrics } = make(async () => {
      if (down) throw new DatabaseUnavailableError();
    });
    task.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(metrics.counts.get('sweep/outage')).toBe(5);
    expect(log.lines.filter((line) => line.level >= LEVEL.warn).map((line) => line.msg)).toEqual([
      'sweep: database unavailable; retrying, quietly until it returns',
    ]);
    down = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(log.lines.filter((line) => line.level >= LEVEL.warn).map((line) => [line.msg, line.failed_attempts])).toEqual([
      ['sweep: database unavailable; retrying, quietly until it returns', undefined],
      ['sweep: database available again after 5 failed attempts', 5],
    ]);
    down = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(log.matching('database unavailable')).toHaveLength(2); // a new episode, a new warning
    expect(log.lines.some((line) => line.level === LEVEL.error)).toBe(false);
    await task.stop();
  });

  it('waits the retry delay after failures, and a wake-up does not cut it short', async () => {
    const starts: number[] = [];
    const { task } = make(
      async () => {
        starts.push(Date.now() - 1_000_000);
        throw new DatabaseUnavailableError();
      },
      { intervalMs: Number.POSITIVE_INFINITY, retryDelayMs: (failures) => 250 * 2 ** (failures - 1) },
    );
    task.start();
    task.wake();
    await vi.advanceTimersByTimeAsync(100);
    task.wake();
    await vi.advanceTimersByTimeAsync(1_700);
    expect(starts).toEqual([0, 250, 750, 1_750]);
    await task.stop();
  });
});
