import type { Logger } from 'pino';
import type { CapacityFigures, ConditionResult } from '../health/condition.js';
import { ConditionConfirmation, type ConfirmationThresholds } from '../health/confirmation.js';
import type { HealthSettings } from '../health/deep-check.js';
import type { DeepCheckOutcome, DeepChecks } from '../health/deep-checks.js';
import type { DeepRunOutcome, MetricsRecorder } from '../metrics/recorder.js';
import type { ProbeTarget } from '../probes/probe.js';
import type { Clock } from '../time/clock.js';
import { deadline } from '../time/deadline.js';

/** A deep run gets at most its interval (so runs never overlap) and never more than this. */
const DEADLINE_CAP_MS = 30_000;

/**
 * What the deep runs need of the process: the same object for every VIM (the
 * monitors' own deps), so that a VIM costs no deps object or closure of its own.
 */
export interface DeepRunsDeps {
  clock: Clock;
  logger: Logger;
  random?: () => number;
  deepChecks?: DeepChecks;
  metrics?: MetricsRecorder;
  onCapacity?(vimId: string, monitorId: string, capacity: CapacityFigures): void;
}

/** What is stored for the VIM (or carried over from a replaced monitor). */
export interface DeepRunsStored {
  capacity: CapacityFigures | null;
  /** The deep checks' conditions as stored: shown until the first run, and what a change must be confirmed against. */
  conditions: readonly ConditionResult[];
}

const NO_RESULTS: readonly ConditionResult[] = Object.freeze([]);

/**
 * The deep checks of one VIM, beside its fast rounds: due every
 * `deep_interval`, the first one at a random point of the first interval
 * (10,000 VIMs started together do not all check at once), never more than
 * one in flight, each within a deadline. A run is started by a fast round
 * and not awaited by it, so it never delays the fast rounds; its results
 * are read by the following rounds, which assess them with the probes'.
 */
/** How the deep runs follow the monitor's hysteresis; a failure waiting for confirmation is checked again after `retryAfterMs`. */
export interface DeepConfirmation extends ConfirmationThresholds {
  retryAfterMs: number;
}

export class DeepRuns {
  private nextAtMs: number | undefined;
  private inFlight = false;
  private stopped = false;
  /** The last report of each check, by check name, in the checks' order; created by the first run. */
  private reports: Map<string, DeepCheckReport> | undefined;
  private latest: CapacityFigures | null;
  private readonly confirmation: ConditionConfirmation;
  /** What the deep checks show: their latest results once confirmed (ConditionConfirmation). */
  private shown: readonly ConditionResult[];

  constructor(
    private readonly vimId: string,
    private readonly monitorId: string,
    private readonly deps: DeepRunsDeps,
    stored: DeepRunsStored,
  ) {
    this.latest = stored.capacity;
    this.shown = deps.deepChecks && stored.conditions.length > 0 ? stored.conditions : NO_RESULTS;
    this.confirmation = new ConditionConfirmation(this.shown);
  }

  get capacity(): CapacityFigures | null {
    return this.latest;
  }

  /** Books the first run at a random point of the first deep interval after `firstRoundAtMs`. */
  plan(firstRoundAtMs: number, health: HealthSettings | undefined): void {
    if (!this.deps.deepChecks || !health) return;
    this.nextAtMs = firstRoundAtMs + (this.deps.random ?? Math.random)() * health.deep_interval * 1000;
  }

  /** Starts a run when one is due and none is in flight; the caller has checked that the lower layers are up. */
  startIfDue(target: ProbeTarget, health: HealthSettings | undefined, confirm: DeepConfirmation, nowMs: number): void {
    const checks = this.deps.deepChecks;
    if (this.stopped || !checks || !health || this.inFlight) return;
    // Health settings that arrived with an update: the first run is spread like at start.
    if (this.nextAtMs === undefined) this.plan(nowMs, health);
    if (this.nextAtMs === undefined || nowMs < this.nextAtMs) return;
    this.inFlight = true;
    // From when it was due, not from the fast round that noticed: otherwise every run slips by up to one fast interval.
    const intervalMs = health.deep_interval * 1000;
    this.nextAtMs = nowMs - this.nextAtMs < intervalMs ? this.nextAtMs + intervalMs : nowMs + intervalMs;
    const limit = deadline(Math.min(health.deep_interval * 1000, DEADLINE_CAP_MS));
    const startedAt = performance.now();
    const finished = (outcome: DeepRunOutcome) => this.deps.metrics?.deepRunFinished?.(outcome, (performance.now() - startedAt) / 1000);
    checks
      .run({ target, settings: health, signal: limit.signal, now: this.deps.clock.now() })
      .then(
        (outcomes) => {
          finished(outcomes.some((outcome) => outcome.report === undefined) ? 'timed_out' : 'completed');
          this.adopt(outcomes, confirm, health.deep_interval * 1000);
        },
        // A check rejecting is a bug in it (they settle with Unknown for the target's faults): loud, and the previous results stay.
        (error: unknown) => {
          finished('failed');
          this.deps.logger.error({ vim_id: this.vimId, err: error }, 'deep check failed unexpectedly');
        },
      )
      .finally(() => {
        limit.dispose();
        this.inFlight = false;
      });
  }

  stop(): void {
    this.stopped = true;
  }

  /** The deep checks' conditions as shown: the latest results once confirmed, in the checks' order. */
  conditions(): readonly ConditionResult[] {
    return this.shown;
  }

  /**
   * Whether the latest run found a required deep check (error severity)
   * failing. Status counts it from the first run, with its own threshold on
   * rounds, as it counts a failed ping; the condition waits for confirmation.
   */
  requiredFailure(): boolean {
    // Asked every round: looked up in place, nothing allocated.
    if (this.reports) for (const report of this.reports.values()) for (const result of report.conditions) if (result.status === 'False' && result.severity === 'error') return true;
    return false;
  }

  requiredFailures(): ConditionResult[] {
    return this.latestResults().filter((result) => result.status === 'False' && result.severity === 'error');
  }

  /** The status just changed on the latest results: show them as they are, so that conditions and status agree. */
  confirmLatest(): void {
    if (this.reports === undefined || this.reports.size === 0) return;
    this.shown = this.latestResults();
    this.confirmation.confirmAll(this.shown);
  }

  private latestResults(): ConditionResult[] {
    const all: ConditionResult[] = [];
    if (this.reports) for (const report of this.reports.values()) all.push(...report.conditions);
    return all;
  }

  private adopt(outcomes: readonly DeepCheckOutcome[], confirm: DeepConfirmation, intervalMs: number): void {
    if (this.stopped) return;
    const reports = (this.reports ??= new Map<string, DeepCheckReport>());
    for (const { name, report } of outcomes) {
      if (report === undefined) {
        // Not settled by the deadline: what it said last is no longer known, but its conditions stay listed.
        const previous = reports.get(name)?.conditions ?? [];
        reports.set(name, {
          conditions: previous.map((result) => ({ ...result, status: 'Unknown', severity: 'info', reason: `the ${name} check did not finish by its deadline` })),
        });
        continue;
      }
      reports.set(name, { conditions: report.conditions });
      if (report.capacity && !sameFigures(report.capacity, this.latest)) {
        this.latest = report.capacity;
        this.deps.onCapacity?.(this.vimId, this.monitorId, report.capacity);
      }
    }
    this.shown = this.confirmation.observe(this.latestResults(), confirm);
    // A failure (or a recovery) waiting for confirmation is checked again soon, not a whole deep interval later.
    if (this.confirmation.pending && this.nextAtMs !== undefined) {
      this.nextAtMs = Math.min(this.nextAtMs, this.deps.clock.now().getTime() + Math.min(confirm.retryAfterMs, intervalMs));
    }
  }
}

interface DeepCheckReport {
  conditions: ConditionResult[];
}

/** Figures equal apart from when they were measured: storing each measurement would cost a write per VIM per deep interval. */
function sameFigures(a: CapacityFigures, b: CapacityFigures | null): boolean {
  return b !== null && JSON.stringify(a.resources) === JSON.stringify(b.resources);
}
