import type { Logger } from 'pino';
import type { MetricsRecorder } from '../metrics/recorder.js';
import type { ConfirmationRepository } from '../store/confirmation-repository.js';
import { BackgroundErrors } from '../time/background-errors.js';
import type { Clock } from '../time/clock.js';
import { PeriodicTask, type Timer } from '../time/periodic-task.js';
import type { ConfirmationGate } from './confirmation-gate.js';
import type { ConfirmProber } from './confirm-prober.js';

export interface ConfirmationPollerOptions {
  self: string;
  zone: string | null;
  pollIntervalMs: number;
  /** Workers whose heartbeat is younger than this are live (the manager's lease_ttl). */
  liveWindowMs: number;
  /** How often the list of live workers is read again. */
  liveRefreshMs: number;
  /** Rows older than this are deleted whoever made them (a requester that died). */
  maxAgeMs: number;
  /** Requests taken per poll and probed at once, at most. */
  batch: number;
}

/**
 * The one background loop of confirmation on a worker: each pass writes the
 * requests the gate queued, reads in one query what other workers asked of
 * this one and (while this one waits) their answers, starts the asked probes
 * without waiting for them, hands answers to the gate and deletes finished
 * rows. Every few seconds it also reads the live workers and their zones.
 */
export class ConfirmationPoller {
  private readonly task: PeriodicTask;
  private readonly errors: BackgroundErrors;
  private lastLiveMs = -Infinity;
  private lastSweepMs: number;
  private polls = 0;

  constructor(
    private readonly options: ConfirmationPollerOptions,
    private readonly deps: {
      repository: ConfirmationRepository;
      gate: ConfirmationGate;
      prober: ConfirmProber;
      clock: Clock;
      logger: Logger;
      metrics?: MetricsRecorder;
      timer?: Timer;
    },
  ) {
    this.lastSweepMs = deps.clock.now().getTime();
    this.errors = new BackgroundErrors('confirm', {
      logger: deps.logger,
      clock: deps.clock,
      metrics: deps.metrics,
      outageMessage: 'confirmation: database unavailable; down verdicts are decided alone at their deadline',
    });
    this.task = new PeriodicTask({
      intervalMs: options.pollIntervalMs,
      run: () => this.pass(),
      errors: this.errors,
      immediate: true,
      ...(deps.timer && { timer: deps.timer }),
    });
  }

  /** Reads the live workers once (so that the first verdicts know them), then polls. */
  async start(): Promise<void> {
    await this.refreshNow();
    this.task.start();
  }

  /** Reads the live workers and records this worker's zone now; a failure waits for the next pass. */
  async refreshNow(): Promise<void> {
    await this.refreshLive(this.deps.clock.now().getTime()).catch((error: unknown) => this.errors.failed(error));
  }

  /** A request was queued: write it now. */
  wake(): void {
    this.task.wake();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }

  get passes(): number {
    return this.polls;
  }

  private async pass(): Promise<void> {
    const nowMs = this.deps.clock.now().getTime();
    if (nowMs - this.lastLiveMs >= this.options.liveRefreshMs) await this.refreshLive(nowMs);
    const asks = this.deps.gate.takeAsks();
    if (asks.length > 0) {
      try {
        await this.deps.repository.ask(this.options.self, nowMs, asks);
      } catch (error) {
        this.deps.gate.retryAsks(asks);
        throw error;
      }
    }
    const { asked, answered } = await this.deps.repository.poll(this.options.self, nowMs, this.deps.gate.waiting(), this.options.batch);
    this.polls += 1;
    // Not awaited: probes take up to a timeout, and answers to this worker's own requests must not wait for them.
    const { started, done } = this.deps.prober.probe(asked, this.options.batch);
    // When these answers are out, the next requests of a burst are taken at once rather than at the next interval.
    done.then(
      () => {
        if (started > 0) this.task.wake();
      },
      (error: unknown) => this.errors.failed(error),
    );
    this.deps.gate.received(answered);
    // Rows whose delete fails here are deleted by age (removeOlderThan).
    const removals = this.deps.gate.takeRemovals();
    if (removals.length > 0) await this.deps.repository.remove(removals);
    // A full batch that moved something on (answers read and deleted, probes started): the rest of a burst is read
    // right away, not a poll interval later. A batch full of requests still in flight waits for the interval.
    if (asked.length + answered.length >= this.options.batch && (answered.length > 0 || started > 0)) this.task.wake();
    if (nowMs - this.lastSweepMs >= this.options.maxAgeMs) {
      this.lastSweepMs = nowMs;
      const removed = await this.deps.repository.removeOlderThan(nowMs - this.options.maxAgeMs);
      if (removed > 0) this.deps.logger.info({ removed }, 'removed stale confirmation requests');
    }
  }

  private async refreshLive(nowMs: number): Promise<void> {
    const live = await this.deps.repository.liveWorkers(nowMs - this.options.liveWindowMs);
    this.lastLiveMs = nowMs;
    const own = live.find((worker) => worker.id === this.options.self);
    // The manager's heartbeat makes the row; the zone is put on it here (again if the row was made anew).
    if (own && own.zone !== this.options.zone) {
      await this.deps.repository.setZone(this.options.self, this.options.zone);
      own.zone = this.options.zone;
    }
    this.deps.gate.setLive(live);
  }
}
