import type { Logger } from 'pino';
import { NO_METRICS, type MetricsRecorder } from '../metrics/recorder.js';
import type { EventRepository } from '../store/event-repository.js';
import type { SubscriptionRepository, SubscriptionRow } from '../store/subscription-repository.js';
import { BackgroundErrors } from '../time/background-errors.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { deadline } from '../time/deadline.js';
import { PeriodicTask, SLEEP, type Timer } from '../time/periodic-task.js';
import { retryDelayMs } from './backoff.js';
import { SafeHorizon } from './safe-horizon.js';
import type { EventSink, VimEvent } from './vim-event.js';
import { EVENT_TYPES, STATUS_EVENT_TYPE, toVimEvent } from './wire.js';

export interface DispatcherOptions {
  owner: string;
  pollIntervalMs: number;
  leaseTtlMs: number;
  settleMs: number;
  retryBaseMs: number;
  retryCapMs: number;
  /** An event still undeliverable this long after it happened is dead-lettered. */
  deadLetterAfterMs: number;
  deliveryTimeoutMs: number;
  batchSize: number;
  /**
   * Nothing but this process writes to the database (SQLite): once every channel it holds has passed every event,
   * with no retry due, the dispatcher sleeps until wake() (an event or a channel stored, see Store.onInsert)
   * instead of polling an outbox that cannot change. Leases need no renewal there: no other process can claim.
   */
  quiet?: boolean;
}

export interface SubscriptionFilter {
  vim_ids?: string[];
  statuses?: string[];
  tenant_ids?: string[];
  /** MONITOR (status changes) and/or HEALTH (condition changes); see eventTypesOf for the default. */
  event_types?: string[];
  /** Also events stored while their VIM's notifications were held (maintenance, flapping); left out by default. */
  include_held?: boolean;
}

/**
 * Which events a channel receives. A webhook without `event_types` gets
 * status changes only, as before condition changes existed: its receiver
 * was written for Tacker's MONITOR events. The oslo notifier gets every type:
 * notification consumers select by event_type, and `vim.health.update` and
 * `monitor.isolated` are types of their own.
 */
export function eventTypesOf(kind: string, filter: SubscriptionFilter): string[] {
  return filter.event_types ?? (kind === 'amqp' ? [...EVENT_TYPES] : [STATUS_EVENT_TYPE]);
}

export interface DispatcherDeps {
  subscriptions: SubscriptionRepository;
  events: EventRepository;
  /** The sink of a channel, or undefined when this process cannot deliver it (e.g. AMQP not configured). */
  sinkFor(row: SubscriptionRow): EventSink | undefined;
  clock: Clock;
  random: () => number;
  logger: Logger;
  metrics?: MetricsRecorder;
  timer?: Timer;
}

/**
 * Delivers stored events to every channel, reading from the database (the
 * outbox), never from memory: a sink that was down gets the backlog when it
 * returns, and a restart loses nothing. One worker at a time holds a channel
 * (lease), events go out in id order and the cursor moves only after a sink
 * acknowledged, so each event reaches each channel at least once, in order,
 * with its stable id for de-duplication.
 */
export class EventDispatcher {
  private stopped = false;
  private readonly horizon: SafeHorizon;
  private readonly metrics: MetricsRecorder;
  private readonly task: PeriodicTask;

  constructor(
    private readonly options: DispatcherOptions,
    private readonly deps: DispatcherDeps,
  ) {
    this.horizon = new SafeHorizon(deps.clock, options.settleMs);
    this.metrics = deps.metrics ?? NO_METRICS;
    this.task = new PeriodicTask({
      run: () => this.tick(),
      intervalMs: options.pollIntervalMs,
      errors: new BackgroundErrors('dispatch', {
        logger: deps.logger,
        clock: deps.clock,
        metrics: this.metrics,
        outageMessage: 'event delivery paused: database unavailable',
      }),
      ...(deps.timer && { timer: deps.timer }),
    });
  }

  start(): void {
    this.task.start();
  }

  /** Something to deliver may have been stored: a pass now (or right after the one in flight), asleep or not. */
  wake(): void {
    this.task.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.task.stop();
    await this.deps.subscriptions.release(this.options.owner).catch(() => undefined);
  }

  /**
   * One pass over every channel this worker holds. Exposed for tests. SLEEP (quiet only): every channel passed
   * every stored event and none waits for a retry, so nothing is left to do until something is stored.
   */
  async tick(): Promise<void | typeof SLEEP> {
    const nowMs = this.deps.clock.now().getTime();
    const leaseUntil = nowMs + this.options.leaseTtlMs;
    const claimed = await this.deps.subscriptions.claim(this.options.owner, nowMs, leaseUntil, 100);
    const held = await this.deps.subscriptions.renew(this.options.owner, leaseUntil);
    const newest = await this.deps.events.maxId();
    const upTo = this.horizon.observe(newest);
    const drained = await Promise.all(held.map((row) => this.drain(row, upTo)));
    await this.reportBacklog(held, upTo);
    const caughtUp = claimed.length === 0 && upTo === newest && drained.every(Boolean);
    if (!this.options.quiet || !caughtUp || this.stopped) return undefined;
    // A channel still leased to someone else (this process's previous life, after a crash) is claimed once its
    // lease lapses, and only a pass can see that: asleep until then, its events would wait for the next one stored.
    const channels = await this.deps.subscriptions.list();
    return channels.every((row) => row.owner === this.options.owner) ? SLEEP : undefined;
  }

  /** Whether the channel is done for now: at the horizon, or with nothing this process can deliver it. */
  private async drain(row: SubscriptionRow, upToId: number): Promise<boolean> {
    if (Number(row.next_attempt_ms) > this.deps.clock.now().getTime()) return false;
    const sink = this.deps.sinkFor(row);
    if (!sink) return true;
    let cursor = Number(row.cursor_event_id);
    let retry = row.retry_count;
    const filter = parseFilter(row.filter);
    for (let batch = 0; batch < 20 && !this.stopped; batch++) {
      const rows = await this.deps.events.list({
        afterId: cursor,
        upToId,
        limit: this.options.batchSize,
        ...(filter.vim_ids && { vimIds: filter.vim_ids }),
        ...(filter.statuses && { statuses: filter.statuses }),
        ...(filter.tenant_ids && { tenantIds: filter.tenant_ids }),
        eventTypes: eventTypesOf(row.kind, filter),
        // Held events (maintenance, flapping) stay in the history; receivers get the catch-up event instead.
        excludeHeld: filter.include_held !== true,
      });
      for (const event of rows.map(toVimEvent)) {
        const outcome = await this.deliverOne(row, sink, event, cursor, retry);
        if (outcome === 'retry-later' || outcome === 'lost-lease') return false;
        cursor = event.id;
        retry = 0;
      }
      if (rows.length < this.options.batchSize) {
        // Everything up to the horizon was looked at: move past events no filter matched.
        if (cursor < upToId && (await this.deps.subscriptions.skip(row.id, this.options.owner, cursor, upToId))) cursor = upToId;
        return cursor >= upToId;
      }
    }
    return false;
  }

  private async deliverOne(
    row: SubscriptionRow,
    sink: EventSink,
    event: VimEvent,
    cursor: number,
    retry: number,
  ): Promise<'delivered' | 'dead-lettered' | 'retry-later' | 'lost-lease'> {
    const at = tackerTimestamp(this.deps.clock.now());
    const limit = deadline(this.options.deliveryTimeoutMs);
    try {
      await sink.deliver(event, limit.signal);
    } catch (error) {
      const reason = describe(error);
      const age = this.deps.clock.now().getTime() - Date.parse(`${event.timestamp.replace(' ', 'T')}Z`);
      if (age > this.options.deadLetterAfterMs) {
        const moved = await this.deps.subscriptions.deadLetter(row.id, this.options.owner, cursor, event.id, retry + 1, reason, at);
        this.deps.logger.warn({ subscription_id: row.id, event_id: event.id, vim_id: event.vimId, reason }, 'event dead-lettered');
        return moved ? 'dead-lettered' : 'lost-lease';
      }
      const next = this.deps.clock.now().getTime() + retryDelayMs(retry, this.options.retryBaseMs, this.options.retryCapMs, this.deps.random);
      await this.deps.subscriptions.failed(row.id, this.options.owner, reason, next, at);
      this.deps.logger.info({ subscription_id: row.id, event_id: event.id, vim_id: event.vimId, reason, retry: retry + 1 }, 'delivery failed; will retry');
      return 'retry-later';
    } finally {
      limit.dispose();
    }
    const moved = await this.deps.subscriptions.delivered(row.id, this.options.owner, cursor, event.id, at);
    return moved ? 'delivered' : 'lost-lease';
  }

  private async reportBacklog(held: SubscriptionRow[], upTo: number): Promise<void> {
    if (held.length === 0) {
      this.metrics.outbox(0, 0);
      return;
    }
    const oldestCursor = Math.min(...held.map((row) => Number(row.cursor_event_id)));
    const depth = held.reduce((sum, row) => sum + Math.max(0, upTo - Number(row.cursor_event_id)), 0);
    let age = 0;
    if (oldestCursor < upTo) {
      const next = await this.deps.events.list({ afterId: oldestCursor, limit: 1 });
      const created = next[0]?.created_at;
      if (created) age = Math.max(0, (this.deps.clock.now().getTime() - Date.parse(`${created.replace(' ', 'T')}Z`)) / 1000);
    }
    this.metrics.outbox(depth, age);
  }
}

export function parseFilter(text: string): SubscriptionFilter {
  try {
    return JSON.parse(text) as SubscriptionFilter;
  } catch {
    return {};
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return (code ? `${code}: ` : '') + error.message.slice(0, 300);
  }
  return String(error).slice(0, 300);
}
