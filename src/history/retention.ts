import type { Logger } from 'pino';
import type { EventRepository } from '../store/event-repository.js';
import type { HistoryRepository, PruneStep } from '../store/history-repository.js';
import { BackgroundErrors, type BackgroundErrorCounter } from '../time/background-errors.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { PeriodicTask, type Timer } from '../time/periodic-task.js';
import { DAY_MS, dayOf } from './model.js';
import { nextTurn } from '../time/next-turn.js';

/** The `kind` label of vim_monitor_history_pruned_total. */
export const HISTORY_PRUNE_KINDS = ['events', 'hours', 'days'] as const;
export type HistoryPruneKind = (typeof HISTORY_PRUNE_KINDS)[number];

/** The history.* retention keys, in the units the job uses. */
export interface RetentionSettings {
  /** history.raw_events_days: vim_events older than this go (unless a delivery channel has not passed them). */
  rawEventsDays: number;
  /** history.hourly_days: days older than this keep only their daily rollup. */
  hourlyDays: number;
  /** history.daily_days: days older than this are deleted. */
  dailyDays: number;
  /** history.prune_interval in ms. */
  pruneIntervalMs: number;
  /** history.prune_batch: events per statement; VIMs per statement for history. */
  pruneBatch: number;
}

export interface RetentionDeps {
  events: Pick<EventRepository, 'prune' | 'channelsBehind'>;
  history: Pick<HistoryRepository, 'dropHours' | 'deleteBefore'>;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  metrics?: BackgroundErrorCounter & { historyPruned?(kind: HistoryPruneKind, count: number): void };
  timer?: Timer;
  /** For the first pass's random delay (tests pass their own). */
  random?: () => number;
  /** Between batches: lets the requests and monitor writes waiting on the database go first. */
  pause?: () => Promise<void>;
}

export type PruneCounts = Record<HistoryPruneKind, number>;

/**
 * Keeps storage bounded (issue 12): one periodic pass per process, every
 * history.prune_interval, the first one at a random point of the first
 * interval so that workers started together do not prune together. Each pass
 * removes in batches with a pause between them, so no statement holds locks
 * long: history.prune_batch events, or the history of history.prune_batch
 * VIMs, a statement. Several workers may prune at once: every step
 * is idempotent (victims are selected, then deleted by key).
 *
 * close() is graceful (the batch in flight finishes, no new one starts);
 * destroy() is abrupt (no new batch, nothing awaited). Both are idempotent.
 */
export class HistoryRetention {
  private readonly task: PeriodicTask;
  private readonly pause: () => Promise<void>;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly settings: RetentionSettings,
    private readonly deps: RetentionDeps,
  ) {
    this.pause = deps.pause ?? nextTurn;
    this.task = new PeriodicTask({
      run: async (signal) => {
        await this.pass(signal);
      },
      intervalMs: settings.pruneIntervalMs,
      firstDelayMs: Math.floor((deps.random ?? Math.random)() * settings.pruneIntervalMs),
      errors: new BackgroundErrors('retention', {
        logger: deps.logger,
        clock: deps.clock,
        metrics: deps.metrics,
        outageMessage: 'retention: database unavailable, pruning later',
      }),
      ...(deps.timer && { timer: deps.timer }),
    });
  }

  start(): void {
    this.task.start();
  }

  /** One pass: old events, then hourly detail, then old days. Stops between batches once `signal` aborts. */
  async pass(signal: AbortSignal = new AbortController().signal): Promise<PruneCounts> {
    const { rawEventsDays, hourlyDays, dailyDays, pruneBatch } = this.settings;
    const nowMs = this.deps.clock.now().getTime();
    const today = dayOf(nowMs);
    const counts: PruneCounts = { events: 0, hours: 0, days: 0 };
    const eventsBefore = tackerTimestamp(new Date(nowMs - rawEventsDays * DAY_MS));

    let afterId = 0;
    for (let more = true; more && !signal.aborted; ) {
      const batch = await this.deps.events.prune(eventsBefore, pruneBatch, afterId);
      this.count(counts, 'events', batch.deleted);
      ({ more } = batch);
      afterId = batch.lastId;
      if (more) await this.pause();
    }
    if (!signal.aborted) await this.warnOfChannelsBehind(eventsBefore);
    await this.batches(signal, counts, 'hours', (after) => this.deps.history.dropHours(today - hourlyDays, pruneBatch, after));
    await this.batches(signal, counts, 'days', (after) => this.deps.history.deleteBefore(today - dailyDays, pruneBatch, after));

    if (counts.events + counts.hours + counts.days > 0) {
      this.deps.logger.info({ pruned_events: counts.events, pruned_hours: counts.hours, pruned_days: counts.days }, 'retention pass pruned old events and history');
    }
    return counts;
  }

  close(): Promise<void> {
    this.closing ??= this.task.stop();
    return this.closing;
  }

  async destroy(): Promise<void> {
    void this.close();
  }

  /** Walks the VIMs with stored history, prune_batch VIMs a step, to the last one (history is pruned by primary key, VIM by VIM). */
  private async batches(signal: AbortSignal, counts: PruneCounts, kind: HistoryPruneKind, step: (afterVimId: string) => Promise<PruneStep>): Promise<void> {
    let after = '';
    while (!signal.aborted) {
      const { changed, lastVimId, more } = await step(after);
      this.count(counts, kind, changed);
      if (!more) return;
      after = lastVimId;
      await this.pause();
    }
  }

  private count(counts: PruneCounts, kind: HistoryPruneKind, changed: number): void {
    counts[kind] += changed;
    this.deps.metrics?.historyPruned?.(kind, changed);
  }

  /** A channel that stopped (a disabled AMQP notifier, a webhook far behind) keeps events for ever: say so, by id (never its URL). */
  private async warnOfChannelsBehind(eventsBefore: string): Promise<void> {
    const behind = await this.deps.events.channelsBehind(eventsBefore);
    if (behind.length === 0) return;
    this.deps.logger.warn(
      { channels: behind.map((channel) => ({ id: channel.id, kind: channel.kind, cursor_event_id: channel.cursorEventId })), raw_events_days: this.settings.rawEventsDays },
      'events older than history.raw_events_days are kept: delivery channels have not passed them yet',
    );
  }
}
