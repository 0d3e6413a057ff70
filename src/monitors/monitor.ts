import type { Logger } from 'pino';
import type { Probe, ProbeName, ProbeOutcome, ProbeTarget } from '../probes/probe.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { deadline } from '../time/deadline.js';
import type { VimStatus } from '../vims/model.js';
import type { MonitorSettings } from './settings.js';
import type { ProbeDetail, ProbeDetails, StatusChange } from './status-change.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import type { RoundStats } from './round-stats.js';
import { applyRound, type VerdictState } from './verdict.js';

export interface MonitorTarget {
  tenantId: string;
  vimName: string;
  target: ProbeTarget;
  settings: MonitorSettings;
}

export interface MonitorDeps {
  probes: ReadonlyMap<ProbeName, Probe>;
  clock: Clock;
  logger: Logger;
  /** Receives status changes in the order they were decided. */
  onStatusChange(change: StatusChange): void;
  /** Receives regions/namespaces discovered by the auth probe. */
  onPlacement?(vimId: string, regions: string[]): void;
  /**
   * Rounds start on multiples of this many milliseconds of wall-clock time,
   * so that the checks of all monitors due in one tick go out together (one
   * fping process for all their pings). 0 disables alignment.
   */
  roundTickMs?: number;
  /** Punctuality of rounds, shared by all monitors of a process. */
  stats?: RoundStats;
  metrics?: MetricsRecorder;
}

export interface MonitorSnapshot {
  monitor_id: string;
  vim_id: string;
  status: VimStatus;
  status_since: string;
  state: 'starting' | 'idle' | 'checking' | 'crashed' | 'stopped';
  /** When the loop last made progress (a round started or ended): what the sweep judges by. */
  heartbeat_at: string | null;
  last_round_at: string | null;
  next_round_at: string | null;
  consecutive_failures: number;
  consecutive_successes: number;
  probes: ProbeDetails;
  settings: MonitorSettings;
}

/**
 * One VIM's monitor: runs its probes every `interval`, applies the
 * thresholds and reports status changes. It never touches the database: the
 * manager persists what it reports. A probe that ignores its deadline leaves
 * the round hanging on purpose, so that the manager's sweep sees a monitor
 * that is not processing and replaces it.
 */
export class VimMonitor {
  private state: VerdictState;
  private statusSince: Date;
  private readonly details: ProbeDetails = {};
  private lastAuthAt: number | undefined;
  private roundStartedAt: number | undefined;
  private lastRoundAt: number | undefined;
  private nextRoundAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inRound = false;
  private crashed: Error | undefined;
  private stopped = false;
  private readonly lifetime = new AbortController();

  constructor(
    readonly monitorId: string,
    readonly vimId: string,
    private current: MonitorTarget,
    private readonly deps: MonitorDeps,
    initial: { status: VimStatus; since?: Date; consecutiveFailures?: number; consecutiveSuccesses?: number },
  ) {
    // A replacement carries the counts on: otherwise a VIM whose rounds keep getting stuck would never reach a threshold.
    this.state = {
      status: initial.status,
      consecutiveFailures: initial.consecutiveFailures ?? 0,
      consecutiveSuccesses: initial.consecutiveSuccesses ?? 0,
    };
    this.statusSince = initial.since ?? deps.clock.now();
  }

  start(initialDelayMs: number): void {
    this.schedule(Math.max(0, initialDelayMs));
  }

  /** New settings or credentials take effect from the next round; no restart. */
  update(next: MonitorTarget): void {
    this.current = next;
  }

  /** Stops for good and aborts probes in flight: nothing is sent for this VIM afterwards. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lifetime.abort();
  }

  get status(): VimStatus {
    return this.state.status;
  }

  /** Verdict state to carry over into a replacement, so a replacement never restarts from PENDING. */
  carryOver(): { status: VimStatus; since: Date; consecutiveFailures: number; consecutiveSuccesses: number } {
    return {
      status: this.state.status,
      since: this.statusSince,
      consecutiveFailures: this.state.consecutiveFailures,
      consecutiveSuccesses: this.state.consecutiveSuccesses,
    };
  }

  /**
   * False when the loop crashed, a round has run past its deadline by more
   * than `graceMs`, or the next round is overdue by more than `graceMs`.
   */
  isProcessing(graceMs: number): boolean {
    if (this.stopped || this.crashed) return false;
    const now = this.deps.clock.now().getTime();
    const { settings } = this.current;
    if (this.inRound && this.roundStartedAt !== undefined) return now - this.roundStartedAt <= settings.timeout * 1000 + graceMs;
    if (this.nextRoundAt !== undefined) return now - this.nextRoundAt <= graceMs;
    return true;
  }

  whyNotProcessing(): string {
    if (this.crashed) return `loop crashed: ${this.crashed.message}`;
    if (this.inRound) return 'a probe did not return by its deadline';
    return 'round overdue';
  }

  snapshot(): MonitorSnapshot {
    const iso = (ms: number | undefined) => (ms === undefined ? null : tackerTimestamp(new Date(ms)));
    return {
      monitor_id: this.monitorId,
      vim_id: this.vimId,
      status: this.state.status,
      status_since: tackerTimestamp(this.statusSince),
      state: this.stopped ? 'stopped' : this.crashed ? 'crashed' : this.inRound ? 'checking' : this.lastRoundAt === undefined ? 'starting' : 'idle',
      heartbeat_at: iso(this.heartbeat()),
      last_round_at: iso(this.lastRoundAt),
      next_round_at: iso(this.nextRoundAt),
      consecutive_failures: this.state.consecutiveFailures,
      consecutive_successes: this.state.consecutiveSuccesses,
      probes: structuredClone(this.details),
      settings: this.current.settings,
    };
  }

  private heartbeat(): number | undefined {
    if (this.roundStartedAt === undefined && this.lastRoundAt === undefined) return undefined;
    return Math.max(this.roundStartedAt ?? 0, this.lastRoundAt ?? 0);
  }

  private schedule(requestedDelayMs: number): void {
    if (this.stopped) return;
    const now = this.deps.clock.now().getTime();
    const tick = this.deps.roundTickMs ?? 0;
    const due = now + requestedDelayMs;
    this.nextRoundAt = tick > 0 ? Math.ceil(due / tick) * tick : due;
    const delayMs = this.nextRoundAt - now;
    this.deps.stats?.scheduled();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.round().catch((error: unknown) => {
        this.inRound = false;
        this.crashed = error instanceof Error ? error : new Error(String(error));
        this.deps.logger.error({ vim_id: this.vimId, monitor_id: this.monitorId, err: this.crashed }, 'monitor loop crashed');
      });
    }, delayMs);
    // Monitors must not keep a process alive that is otherwise shutting down.
    this.timer.unref?.();
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    const { target, settings, tenantId, vimName } = this.current;
    const startedAt = this.deps.clock.now().getTime();
    const scheduledAt = this.nextRoundAt ?? startedAt;
    if (this.nextRoundAt !== undefined) this.deps.stats?.executed(startedAt - this.nextRoundAt);
    this.roundStartedAt = startedAt;
    this.nextRoundAt = undefined;
    this.inRound = true;

    const due = settings.probes.filter((name) => name !== 'auth' || this.authDue(settings, startedAt));
    const outcomes = await Promise.all(due.map(async (name) => [name, await this.runProbe(name, target, settings)] as const));
    if (this.stopped) return;
    this.inRound = false;
    const checkedAt = tackerTimestamp(this.deps.clock.now());
    for (const [name, outcome] of outcomes) {
      this.record(name, outcome, checkedAt);
      this.deps.metrics?.probeChecked(this.vimId, name, outcome.ok, outcome.latencyMs);
    }
    if (due.includes('auth')) this.lastAuthAt = startedAt;

    // A probe counts with its latest result; auth keeps its last result between its own rounds.
    const considered = settings.probes.map((name) => this.details[name]).filter((d): d is ProbeDetail => d !== undefined);
    const roundOk = considered.every((detail) => detail.ok);
    const before = this.state.status;
    this.state = applyRound(this.state, roundOk, settings);
    this.lastRoundAt = this.deps.clock.now().getTime();
    this.deps.logger.debug({ vim_id: this.vimId, monitor_id: this.monitorId, ok: roundOk, status: this.state.status }, 'round done');
    this.deps.metrics?.statusChanged(this.vimId, this.state.status);
    if (this.state.status !== before) {
      this.statusSince = new Date(startedAt);
      this.deps.onStatusChange({
        vimId: this.vimId,
        vimName,
        tenantId,
        monitorId: this.monitorId,
        oldStatus: before,
        newStatus: this.state.status,
        reason: this.describe(settings.probes, roundOk),
        probes: structuredClone(this.details),
        at: tackerTimestamp(new Date(startedAt)),
      });
    }
    const regions = outcomes.find(([name]) => name === 'auth')?.[1].regions;
    if (regions && this.deps.onPlacement) this.deps.onPlacement(this.vimId, regions);

    // From the scheduled time, not the actual start: otherwise every round slips by up to one tick.
    const next = scheduledAt + settings.interval * 1000;
    this.schedule(Math.max(0, next - this.deps.clock.now().getTime()));
  }

  /** Credentials are checked every auth_interval while good, and every round while failing. */
  private authDue(settings: MonitorSettings, now: number): boolean {
    if (this.lastAuthAt === undefined || this.details.auth?.ok === false) return true;
    return now - this.lastAuthAt >= settings.auth_interval * 1000;
  }

  private async runProbe(name: ProbeName, target: ProbeTarget, settings: MonitorSettings): Promise<ProbeOutcome> {
    const probe = this.deps.probes.get(name);
    if (!probe) return { ok: false, reason: `probe ${name} is not available in this process` };
    const { signal, dispose } = deadline(settings.timeout * 1000, this.lifetime.signal);
    try {
      return await probe.check(target, signal);
    } finally {
      dispose();
    }
  }

  private record(name: ProbeName, outcome: ProbeOutcome, checkedAt: string): void {
    const previous = this.details[name];
    this.details[name] = {
      ok: outcome.ok,
      latency_ms: outcome.latencyMs === undefined ? null : Math.round(outcome.latencyMs * 1000) / 1000,
      reason: outcome.reason,
      checked_at: checkedAt,
      consecutive_failures: outcome.ok ? 0 : (previous?.consecutive_failures ?? 0) + 1,
      consecutive_successes: outcome.ok ? (previous?.consecutive_successes ?? 0) + 1 : 0,
    };
  }

  private describe(probes: readonly ProbeName[], roundOk: boolean): string {
    const parts = probes
      .map((name) => [name, this.details[name]] as const)
      .filter(([, detail]) => detail !== undefined && (roundOk || !detail.ok))
      .map(([name, detail]) => `${name}: ${detail?.reason ?? ''}`);
    return (roundOk ? 'all probes succeeded: ' : 'failed: ') + parts.join('; ');
  }
}
