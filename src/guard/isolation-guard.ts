import type { Logger } from 'pino';
import type { DownVerdict, GateDecision, VerdictGate } from '../monitors/verdict-gate.js';
import type { Probe, ProbeName } from '../probes/probe.js';
import { BackgroundErrors, type BackgroundErrorCounter } from '../time/background-errors.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { PeriodicTask, type Timer } from '../time/periodic-task.js';
import type { CanarySet, CanaryView } from './canaries.js';
import { IsolationDetector, type IsolationSettings, type IsolationState, type IsolationTransition } from './isolation-detector.js';
import type { WorkerIsolationUpdate } from '../events/vim-event.js';
import type { PendingIsolationEvent } from './isolation-events.js';

/** Where the guard's events go (IsolationEventLog: the outbox, written in the background). */
export interface IsolationEventSink {
  /** Queues an event; must not wait for the database. */
  record(event: PendingIsolationEvent): void;
  /** Tries to store what is queued. */
  flush(): Promise<void>;
}

const STOP_FLUSH_MS = 2_000;

/** Where the guard reads this worker's rounds: the monitor manager (one pass over its monitors per tick). */
export interface RoundOutcomeSource {
  roundOutcomes(sinceMs: number): { recent: number; failing: number };
}

/** Something whose outage makes verdicts wait (the database through the manager's heartbeat, the AMQP broker). */
export interface OutageSignal {
  readonly name: string;
  down(): boolean;
}

export interface IsolationGuardOptions extends IsolationSettings {
  worker: string;
  /** Milliseconds between the guard's ticks (each reads the rounds and decides). */
  tickMs: number;
  canaryIntervalMs: number;
  canaryTimeoutMs: number;
}

export interface IsolationGuardDeps {
  canaries: CanarySet;
  probes: ReadonlyMap<ProbeName, Probe>;
  events: IsolationEventSink;
  clock: Clock;
  logger: Logger;
  outages?: readonly OutageSignal[];
  metrics?: BackgroundErrorCounter;
  /** Told on every change of state (the metric). */
  onState?(state: IsolationState, acknowledged: boolean): void;
  timer?: Timer;
}

/** The guard as GET /v1.0/manager and the composition with other gates see it. */
export interface IsolationView {
  state: IsolationState;
  /** Whether down verdicts are held now: isolated (unacknowledged) or in a grace. */
  holding: boolean;
  acknowledged: boolean;
  cause: 'canaries' | 'failing_share' | null;
  since: string | null;
  /** When the grace (recovery or after an outage) ends, while in one. */
  grace_until: string | null;
  failing: number;
  recent: number;
  share: number;
  max_failing_share: number;
  min_failing: number;
  canaries: CanaryView[];
  outages: string[];
}

/**
 * The isolation guard of one worker (issue 11): a verdict gate that holds
 * every down verdict while this worker looks cut off from its own network
 * (its canaries fail, or a sudden share of its VIMs fails at once), while it
 * recovers from that (recovery_grace) and just after a database or broker
 * outage (outage_grace). It keeps probing: only the verdicts wait. Entering
 * isolation is logged once and stored once as an ISOLATION event
 * (`monitor.isolated`); an administrator may acknowledge it to let verdicts
 * through (a genuine mass outage).
 *
 * review() is synchronous and O(1): the state is decided on the guard's own
 * tick, never per verdict.
 */
export class IsolationGuard implements VerdictGate {
  private readonly detector: IsolationDetector;
  private readonly tickTask: PeriodicTask;
  private readonly canaryTask: PeriodicTask;
  private source: RoundOutcomeSource | undefined;
  private acknowledgedEpisode = false;
  private outagesNow: string[] = [];

  constructor(
    private readonly options: IsolationGuardOptions,
    private readonly deps: IsolationGuardDeps,
  ) {
    this.detector = new IsolationDetector(options);
    const policy = { logger: deps.logger, clock: deps.clock, metrics: deps.metrics };
    const timer = deps.timer && { timer: deps.timer };
    this.tickTask = new PeriodicTask({
      intervalMs: options.tickMs,
      run: () => this.tick(),
      errors: new BackgroundErrors('isolation_guard', { ...policy, outageMessage: 'isolation guard: database unavailable for its events, retrying' }),
      ...timer,
    });
    this.canaryTask = new PeriodicTask({
      intervalMs: options.canaryIntervalMs,
      run: () => this.checkCanaries(),
      errors: new BackgroundErrors('isolation_guard', policy),
      ...timer,
    });
  }

  /** The monitors to count (set once the manager exists: the manager takes this guard as its gate). */
  watch(source: RoundOutcomeSource): void {
    this.source = source;
  }

  /** Checks the canaries once before the monitors start (a worker that starts cut off must not give first verdicts), then runs. */
  async start(): Promise<void> {
    if (this.deps.canaries.canaries.length > 0) await this.checkCanaries();
    await this.tick();
    this.canaryTask.start();
    this.tickTask.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.tickTask.stop(), this.canaryTask.stop()]);
    this.deps.canaries.forget(this.deps.probes);
    // One last try to store a queued event, but a database that hangs must not hold the shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.deps.events.flush().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_FLUSH_MS)))]);
    clearTimeout(timer);
  }

  review(_verdict: DownVerdict): GateDecision {
    if (!this.detector.holding) return { verdict: 'apply' };
    if (this.detector.isolated && this.acknowledgedEpisode) return { verdict: 'apply', note: 'worker isolation acknowledged by an operator' };
    return { verdict: 'hold', reason: this.holdReason() };
  }

  /** Whether this worker is cut off now and nobody acknowledged it: the composition with confirmations lets only confirmed verdicts through then. */
  isolated(): boolean {
    return this.detector.isolated && !this.acknowledgedEpisode;
  }

  /** Whether down verdicts are held now (isolated unacknowledged, or a grace). */
  holding(): boolean {
    return this.detector.holding && !(this.detector.isolated && this.acknowledgedEpisode);
  }

  state(): IsolationView {
    const { share, failing, recent } = this.detector.lastCounts;
    const iso = (ms: number | undefined) => (ms === undefined ? null : tackerTimestamp(new Date(ms)));
    return {
      state: this.detector.state,
      holding: this.holding(),
      acknowledged: this.acknowledgedEpisode,
      cause: this.detector.why ?? null,
      since: iso(this.detector.since),
      grace_until: iso(this.detector.graceUntil),
      failing,
      recent,
      share: Math.round(share * 1000) / 1000,
      max_failing_share: this.options.maxFailingShare,
      min_failing: this.options.minFailing,
      canaries: this.deps.canaries.view(),
      outages: this.outagesNow,
    };
  }

  /**
   * An operator says the mass failure is real (a region down): verdicts go
   * through until the episode ends. `false` withdraws it. Only while isolated:
   * there is nothing to acknowledge otherwise (false when so).
   */
  acknowledge(acknowledged: boolean): boolean {
    if (!acknowledged) {
      this.acknowledgedEpisode = false;
      return true;
    }
    if (!this.detector.isolated) return false;
    if (!this.acknowledgedEpisode) this.deps.logger.warn({ worker: this.options.worker }, 'worker isolation acknowledged by an operator: down verdicts apply again');
    this.acknowledgedEpisode = true;
    this.deps.onState?.(this.detector.state, true);
    return true;
  }

  /** One decision: exposed for tests. Synchronous at heart: it reads memory only. */
  async tick(): Promise<void> {
    const nowMs = this.deps.clock.now().getTime();
    const counts = this.source?.roundOutcomes(nowMs - this.options.windowMs) ?? { recent: 0, failing: 0 };
    this.outagesNow = (this.deps.outages ?? []).filter((signal) => signal.down()).map((signal) => signal.name);
    const transition = this.detector.observe({ atMs: nowMs, canaries: this.deps.canaries.state(), ...counts, outage: this.outagesNow.length > 0 });
    if (transition) this.changed(transition, nowMs);
    // Never awaited: a database that hangs (the same cut that isolates this worker) must not stop the decisions.
    void this.deps.events.flush().catch(() => undefined);
  }

  private async checkCanaries(): Promise<void> {
    await this.deps.canaries.check(this.deps.probes, this.options.canaryTimeoutMs);
  }

  /** Logs and stores a change; the event is queued and written in the background (see IsolationEventLog). */
  private changed(transition: IsolationTransition, nowMs: number): void {
    const { share, failing, recent } = this.detector.lastCounts;
    const fields = { worker: this.options.worker, from: transition.from, to: transition.to, failing, recent, share: Math.round(share * 1000) / 1000, outages: this.outagesNow };
    this.deps.onState?.(transition.to, this.acknowledgedEpisode);
    if (transition.to === 'isolated' && transition.cause) {
      this.acknowledgedEpisode = false;
      const reason = this.describeCause(transition.cause);
      this.deps.logger.error({ ...fields, cause: transition.cause, canaries: this.deps.canaries.view() }, `worker isolated: ${reason}; down verdicts are held, probing goes on`);
      this.deps.events.record({ update: this.update('NORMAL', 'ISOLATED', transition.cause), reason, at: tackerTimestamp(new Date(nowMs)) });
      return;
    }
    if (transition.to === 'normal' && transition.from === 'recovering') {
      this.deps.logger.warn(fields, 'worker isolation over: recovery_grace passed, down verdicts apply again');
      this.acknowledgedEpisode = false;
      this.deps.events.record({ update: this.update('ISOLATED', 'NORMAL', null), reason: 'canaries answer and the failing share dropped; recovery_grace passed', at: tackerTimestamp(new Date(nowMs)) });
      return;
    }
    if (transition.to === 'recovering') {
      this.deps.logger.warn({ ...fields, grace_until: tackerTimestamp(new Date(this.detector.graceUntil ?? nowMs)) }, 'worker isolation lifting: down verdicts wait for recovery_grace');
      return;
    }
    if (transition.to === 'outage_grace') {
      this.deps.logger.warn(fields, 'database or broker back after an outage: down verdicts wait for outage_grace');
      return;
    }
    if (transition.to === 'normal') this.deps.logger.info(fields, 'outage_grace passed: down verdicts apply again');
  }

  private describeCause(cause: 'canaries' | 'failing_share'): string {
    if (cause === 'canaries') return `every canary failed (${this.deps.canaries.view().map((c) => c.canary).join(', ')})`;
    const { share, failing, recent } = this.detector.lastCounts;
    return `${failing} of ${recent} VIMs (${Math.round(share * 100)} %) failed within one window, above guard.max_failing_share ${this.options.maxFailingShare}`;
  }

  private holdReason(): string {
    switch (this.detector.state) {
      case 'isolated':
        return `worker isolated (${this.detector.why === 'canaries' ? 'canaries fail' : 'too many VIMs failed at once'}): verdict held until the network is back or an operator acknowledges`;
      case 'recovering':
        return 'worker isolation lifting: verdict held for recovery_grace';
      default:
        return 'just after a database or broker outage: verdict held for outage_grace';
    }
  }

  private update(oldState: string, newState: string, cause: 'canaries' | 'failing_share' | null): WorkerIsolationUpdate {
    const { share, failing, recent } = this.detector.lastCounts;
    return {
      worker: this.options.worker,
      oldState,
      newState,
      cause,
      failing,
      recent,
      share: Math.round(share * 1000) / 1000,
      canaries: this.deps.canaries.view().map(({ canary, ok }) => ({ canary, ok })),
    };
  }
}
