import { describe, expect, it } from 'vitest';
import { capturedLogger, LEVEL } from '../../test/support/log-capture.js';
import { parseExposition, valueOf } from '../../test/support/promtool.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import { BackgroundErrors } from '../time/background-errors.js';
import { systemClock } from '../time/clock.js';
import { RoundScheduler, type ScheduledRound, type TickDeadlines } from './round-scheduler.js';

interface Started {
  deadlines: TickDeadlines;
  at: number;
}

function recorder(): ScheduledRound & { started: Started[]; whenStarted: Promise<Started> } {
  let resolve: (s: Started) => void = () => undefined;
  const whenStarted = new Promise<Started>((r) => (resolve = r));
  const started: Started[] = [];
  return {
    started,
    whenStarted,
    startRound(deadlines, at) {
      const s = { deadlines, at };
      started.push(s);
      resolve(s);
    },
  };
}

describe('RoundScheduler', () => {
  it('starts every round due within one tick together, on the tick, sharing one deadline signal per timeout', async () => {
    const scheduler = new RoundScheduler(systemClock, 100);
    // Just after a tick boundary, so that both due times fall into the same next tick.
    const boundary = Math.ceil((Date.now() + 100) / 100) * 100;
    const a = recorder();
    const b = recorder();
    const c = recorder();
    const tickA = scheduler.schedule(a, boundary + 10);
    const tickB = scheduler.schedule(b, boundary + 50);
    expect(tickA).toBe(boundary + 100);
    expect(tickB).toBe(tickA);
    const tickC = scheduler.schedule(c, tickA + 1);
    expect(tickC).toBe(tickA + 100);

    const [first, second] = await Promise.all([a.whenStarted, b.whenStarted]);
    // Node's timers run on a monotonic clock and may fire a millisecond before the wall clock says.
    expect(first.at).toBeGreaterThanOrEqual(tickA - 2);
    expect(first.deadlines).toBe(second.deadlines);
    expect(first.deadlines.signal(3000)).toBe(second.deadlines.signal(3000));
    expect(first.deadlines.signal(3000)).not.toBe(first.deadlines.signal(5000));
    expect(c.started).toHaveLength(0);

    const third = await c.whenStarted;
    expect(third.deadlines).not.toBe(first.deadlines);
  });

  it('aborts a tick deadline signal when its timeout passes', async () => {
    const scheduler = new RoundScheduler(systemClock, 10);
    const round = recorder();
    scheduler.schedule(round, Date.now());
    const { deadlines } = await round.whenStarted;
    const signal = deadlines.signal(50);
    expect(signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 120));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it("clears a tick's deadline timers once every round of the tick has ended: its signal never aborts", async () => {
    const scheduler = new RoundScheduler(systemClock, 10);
    const signals: AbortSignal[] = [];
    const endsAt = [0, 20];
    const rounds = endsAt.map((ms) => ({
      startRound(deadlines: TickDeadlines) {
        signals.push(deadlines.signal(50));
        setTimeout(deadlines.roundEnded, ms);
      },
    }));
    const due = Date.now() + 10;
    for (const round of rounds) scheduler.schedule(round, due);
    await new Promise((r) => setTimeout(r, 150));
    expect(signals).toHaveLength(2);
    expect(signals[0]).toBe(signals[1]);
    expect(signals[0]!.aborted).toBe(false);
  });

  it('keeps the timers of a tick whose first round ended while the others were still starting', async () => {
    const scheduler = new RoundScheduler(systemClock, 10);
    let signal: AbortSignal | undefined;
    const quick = {
      startRound(deadlines: TickDeadlines) {
        deadlines.signal(50);
        deadlines.roundEnded();
      },
    };
    const slow = {
      startRound(deadlines: TickDeadlines) {
        signal = deadlines.signal(50); // and never ends: its probe hangs until the deadline
      },
    };
    const due = Date.now() + 10;
    scheduler.schedule(quick, due);
    scheduler.schedule(slow, due);
    await new Promise((r) => setTimeout(r, 150));
    expect(signal?.aborted).toBe(true);
  });

  it('never starts a round that was cancelled, and forgets its tick', async () => {
    const scheduler = new RoundScheduler(systemClock, 20);
    const kept = recorder();
    const cancelled = recorder();
    const tick = scheduler.schedule(kept, Date.now() + 20);
    scheduler.schedule(cancelled, Date.now() + 20);
    scheduler.cancel(cancelled, tick);
    expect(scheduler.booked()).toBe(1);
    await kept.whenStarted;
    await new Promise((r) => setTimeout(r, 30));
    expect(cancelled.started).toHaveLength(0);
    expect(scheduler.booked()).toBe(0);
  });

  it('books a round whose interval is shorter than the tick on a grid of its interval, not the tick', () => {
    const scheduler = new RoundScheduler(systemClock, 1000);
    const round = recorder();
    const due = Math.ceil(Date.now() / 1000) * 1000 + 5_010;
    expect(scheduler.schedule(round, due, 200)).toBe(due - 10 + 200);
    expect(scheduler.schedule(recorder(), due, 10_000)).toBe(due - 10 + 1000);
    expect(scheduler.schedule(recorder(), due)).toBe(due - 10 + 1000);
  });

  it('starts a round on the millisecond it is due when alignment is off', async () => {
    const scheduler = new RoundScheduler(systemClock, 0);
    const round = recorder();
    const due = Date.now() + 37;
    expect(scheduler.schedule(round, due)).toBe(due);
    const { at } = await round.whenStarted;
    expect(at).toBeGreaterThanOrEqual(due - 2);
  });

  it('starts the other rounds of a tick when one throws, and logs and counts the throw as an unexpected error', async () => {
    const log = capturedLogger();
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const scheduler = new RoundScheduler(systemClock, 10, new BackgroundErrors('round', { logger: log.logger, clock: systemClock, metrics }));
    const before = recorder();
    const after = recorder();
    const broken = {
      startRound(): void {
        throw new TypeError("Cannot read properties of undefined (reading 'settings')");
      },
    };
    const due = Date.now() + 20;
    const tick = scheduler.schedule(before, due);
    expect(scheduler.schedule(broken, due)).toBe(tick);
    expect(scheduler.schedule(after, due)).toBe(tick);
    await Promise.all([before.whenStarted, after.whenStarted]);
    expect(log.lines).toMatchObject([{ level: LEVEL.error, task: 'round', err: { type: 'TypeError' } }]);
    expect(valueOf(parseExposition(await metrics.expose()), 'vim_monitor_background_errors_total', { task: 'round', kind: 'unexpected' })).toBe(1);
  });
});
