import type { Logger } from 'pino';
import type { CapacityFigures, ConditionResult } from '../health/condition.js';
import type { HealthSettings } from '../health/deep-check.js';
import type { DeepCheckOutcome, DeepChecks } from '../health/deep-checks.js';
import type { ProbeTarget } from '../probes/probe.js';
import type { Clock } from '../time/clock.js';
import { deadline } from '../time/deadline.js';

/** A deep run gets at most its interval (so runs never overlap) and never more than this. */
const DEADLINE_CAP_MS = 30_000;

export interface DeepRunsDeps {
  clock: Clock;
  logger: Logger;
  random: () => number;
  checks?: DeepChecks;
  /** The capacity stored for the VIM (or carried over from a replaced monitor). */
  capacity: CapacityFigures | null;
  onCapacity(capacity: CapacityFigures): void;
}

/**
 * The deep checks of one VIM, beside its fast rounds: due every
 * `deep_interval`, the first one at a random point of the first interval
 * (10,000 VIMs started together do not all check at once), never more than
 * one in flight, each within a deadline. A run is started by a fast round
 * and not awaited by it, so it never delays the fast rounds; its results
 * are read by the following rounds, which assess them with the probes'.
 */
export class DeepRuns {
  private nextAtMs: number | undefined;
  private inFlight = false;
  private stopped = false;
  /** The last report of each check, by check name, in the checks' order. */
  private readonly reports = new Map<string, DeepCheckReport>();
  private latest: CapacityFigures | null;

  constructor(
    private readonly vimId: string,
    private readonly deps: DeepRunsDeps,
  ) {
    this.latest = deps.capacity;
  }

  get capacity(): CapacityFigures | null {
    return this.latest;
  }

  /** Books the first run at a random point of the first deep interval after `firstRoundAtMs`. */
  plan(firstRoundAtMs: number, health: HealthSettings | undefined): void {
    if (!this.deps.checks || !health) return;
    this.nextAtMs = firstRoundAtMs + this.deps.random() * health.deep_interval * 1000;
  }

  /** Starts a run when one is due and none is in flight; the caller has checked that the lower layers are up. */
  startIfDue(target: ProbeTarget, health: HealthSettings | undefined, nowMs: number): void {
    const checks = this.deps.checks;
    if (this.stopped || !checks || !health || this.inFlight) return;
    // Health settings that arrived with an update: the first run is spread like at start.
    if (this.nextAtMs === undefined) this.plan(nowMs, health);
    if (this.nextAtMs === undefined || nowMs < this.nextAtMs) return;
    this.inFlight = true;
    this.nextAtMs = nowMs + health.deep_interval * 1000;
    const limit = deadline(Math.min(health.deep_interval * 1000, DEADLINE_CAP_MS));
    checks
      .run({ target, settings: health, signal: limit.signal, now: this.deps.clock.now() })
      .then(
        (outcomes) => this.adopt(outcomes),
        // A check rejecting is a bug in it (they settle with Unknown for the target's faults): loud, and the previous results stay.
        (error: unknown) => this.deps.logger.error({ vim_id: this.vimId, err: error }, 'deep check failed unexpectedly'),
      )
      .finally(() => {
        limit.dispose();
        this.inFlight = false;
      });
  }

  stop(): void {
    this.stopped = true;
  }

  /** The latest conditions of every deep check, in the checks' order. */
  conditions(): ConditionResult[] {
    const all: ConditionResult[] = [];
    for (const report of this.reports.values()) all.push(...report.conditions);
    return all;
  }

  /** Whether a required deep check (error severity) fails: the VIM is then UNREACHABLE. */
  requiredFailure(): boolean {
    return this.requiredFailures().length > 0;
  }

  requiredFailures(): ConditionResult[] {
    return this.conditions().filter((result) => result.status === 'False' && result.severity === 'error');
  }

  private adopt(outcomes: readonly DeepCheckOutcome[]): void {
    if (this.stopped) return;
    for (const { name, report } of outcomes) {
      if (report === undefined) {
        // Not settled by the deadline: what it said last is no longer known, but its conditions stay listed.
        const previous = this.reports.get(name)?.conditions ?? [];
        this.reports.set(name, {
          conditions: previous.map((result) => ({ ...result, status: 'Unknown', severity: 'info', reason: `the ${name} check did not finish by its deadline` })),
        });
        continue;
      }
      this.reports.set(name, { conditions: report.conditions });
      if (report.capacity && !sameFigures(report.capacity, this.latest)) {
        this.latest = report.capacity;
        this.deps.onCapacity(report.capacity);
      }
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
