import type { Logger } from 'pino';
import type { Probe, ProbeName, ProbeOutcome, ProbeTarget } from '../probes/probe.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import type { VimStatus } from '../vims/model.js';
import type { MonitorSettings } from './settings.js';
import type { HealthChange, ProbeDetails, StatusChange } from './status-change.js';
import type { CapacityFigures, Condition, ConditionResult, Health, HealthLayer } from '../health/condition.js';
import type { HealthSettings } from '../health/deep-check.js';
import type { DeepChecks } from '../health/deep-checks.js';
import { DeepRuns, type DeepConfirmation } from './deep-runs.js';
import { assess, changedTypes, conditionsDiffer, gateByLayer } from '../health/assess.js';
import { FAST_CONDITION_TYPES, isCertificateFailure, probeConditions, type ProbeResults } from '../health/probe-conditions.js';
import { confirmedOk, unconfirmedNote } from '../health/confirmation.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import type { RoundStats } from './round-stats.js';
import type { RoundScheduler, ScheduledRound, TickDeadlines } from './round-scheduler.js';
import { applyRound, type VerdictState } from './verdict.js';
import type { GateDecision, VerdictGate } from './verdict-gate.js';
import type { HistoryRecorder, VimHistory } from '../history/recorder.js';


/** The promise of a round that did not start (a stopped monitor). */
const ROUND_SKIPPED: Promise<void> = Promise.resolve();
export interface MonitorTarget {
  tenantId: string;
  vimName: string;
  target: ProbeTarget;
  settings: MonitorSettings;
  /** The VIM's effective deep-check settings (global `health.*` overlaid with its own); absent where no deep check runs. */
  health?: HealthSettings;
}

export interface MonitorDeps {
  probes: ReadonlyMap<ProbeName, Probe>;
  clock: Clock;
  logger: Logger;
  /** Receives status changes in the order they were decided. */
  onStatusChange(change: StatusChange): void;
  /** Receives condition changes that came without a status change (with one, they travel in the StatusChange). */
  onHealthChange?(change: HealthChange): void;
  /** Receives regions/namespaces discovered by the auth probe. */
  onPlacement?(vimId: string, regions: string[]): void;
  /**
   * Starts rounds on a common tick, so that the checks of all monitors due
   * in one tick go out together (one fping process for all their pings) and
   * share one deadline.
   */
  scheduler: RoundScheduler;
  /** Punctuality of rounds, shared by all monitors of a process. */
  stats?: RoundStats;
  metrics?: MetricsRecorder;
  /** The deep checks (catalog services, certificates, credentials, capacity); none run without them. */
  deepChecks?: DeepChecks;
  /** Spreads first deep runs over the deep interval (tests fix it). */
  random?: () => number;
  /** Reviews every down verdict before it applies (isolation guard, confirmation from other workers); all apply without one. */
  gate?: VerdictGate;
  /** Receives new capacity figures (only when they differ from the last ones). */
  onCapacity?(vimId: string, monitorId: string, capacity: CapacityFigures): void;
  /** Records status history (issue 12): every round's checks and the status held since the previous round. */
  history?: HistoryRecorder;
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
  /** Layered health as of the last round (reasons and last_checked from that round; since from the last change). */
  conditions: Condition[];
  health: Health | null;
  /** The first failing layer, null when none fails. */
  failing_layer: HealthLayer | null;
  /** Measured by the deep checks; null until measured. */
  capacity: CapacityFigures | null;
  /** Set while the thresholds say UNREACHABLE but the verdict gate holds the status (why, and since when). */
  held: { reason: string; since: string } | null;
  settings: MonitorSettings;
}

/** What a monitor last saw from one probe; the timestamp is formatted only when someone reads it. */
interface ProbeRecord {
  ok: boolean;
  latencyMs: number | undefined;
  reason: string;
  checkedAtMs: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** What its condition shows: the latest result once the thresholds confirm it (health/confirmation.ts). */
  shownOk: boolean;
}

type ProbeRecords = Partial<Record<ProbeName, ProbeRecord>>;

let lastTickMs = Number.NaN;
let lastTickStamp = '';

/**
 * The timestamp of a round's start, formatted once per tick: every round of
 * a tick starts at the same ms, so the VIMs whose conditions change in it
 * (a network outage: thousands at once) share one string in their
 * conditions' `since` and `last_checked`.
 */
function tickTimestamp(ms: number): string {
  if (ms !== lastTickMs) {
    lastTickStamp = tackerTimestamp(new Date(ms));
    lastTickMs = ms;
  }
  return lastTickStamp;
}

/** The deep runs' thresholds for each (shared) settings object: built once, not every round. */
const deepConfirmations = new WeakMap<MonitorSettings, DeepConfirmation>();

function deepConfirmationOf(settings: MonitorSettings): DeepConfirmation {
  let confirmation = deepConfirmations.get(settings);
  if (!confirmation) {
    confirmation = { failure_threshold: settings.failure_threshold, success_threshold: settings.success_threshold, retryAfterMs: settings.interval * 1000 };
    deepConfirmations.set(settings, confirmation);
  }
  return confirmation;
}

/**
 * One VIM's monitor: runs its probes every `interval`, applies the
 * thresholds and reports status changes. It never touches the database: the
 * manager persists what it reports. A probe that ignores its deadline leaves
 * the round hanging on purpose, so that the manager's sweep sees a monitor
 * that is not processing and replaces it.
 *
 * This is the hot path of a process with thousands of VIMs (one round per
 * VIM per interval): a round allocates little and formats nothing until a
 * status changes or someone asks for a snapshot.
 */
export class VimMonitor implements ScheduledRound {
  private state: VerdictState;
  /** Epoch ms (a Date per VIM cost ~100 bytes more). */
  private statusSinceMs: number;
  private readonly records: ProbeRecords = {};
  private lastAuthAt: number | undefined;
  private roundStartedAt: number | undefined;
  private lastRoundAt: number | undefined;
  /** The tick this monitor is booked on, while it waits for its next round. */
  private nextRoundAt: number | undefined;
  private inRound = false;
  /** What the round in flight started with (round() to finishRound). */
  private roundScheduledAt = 0;
  private roundCurrent: MonitorTarget;
  private roundDue: readonly ProbeName[] = [];
  private roundAuthChecked = false;
  private crashed: Error | undefined;
  private stopped = false;
  /** The conditions as last stored (changes only): what the next round compares with. */
  private conditions: Condition[];
  private health: Health | null;
  private readonly deep: DeepRuns;
  /**
   * What the last round that assessed its conditions found them made of,
   * when they had not changed (sameShapeAsBefore): fields of the monitor, not
   * an object of their own, to keep a VIM small.
   */
  private shapeNames: readonly ProbeName[] | undefined;
  private shapeConditions: Condition[] | undefined;
  private shapeDeep: readonly ConditionResult[] | undefined;
  private shapeFast = 0;
  /** While the gate holds a down verdict: its reason and since when (epoch ms). */
  private held: { reason: string; sinceMs: number } | undefined;
  private readonly history: VimHistory | undefined;

  constructor(
    readonly monitorId: string,
    readonly vimId: string,
    private current: MonitorTarget,
    private readonly deps: MonitorDeps,
    initial: {
      status: VimStatus;
      since?: Date;
      consecutiveFailures?: number;
      consecutiveSuccesses?: number;
      conditions?: Condition[];
      health?: Health | null;
      capacity?: CapacityFigures | null;
    },
  ) {
    this.roundCurrent = current;
    // The monitor's deps serve the deep runs as they are: no object or closure per VIM.
    this.deep = new DeepRuns(vimId, monitorId, deps, {
      capacity: initial.capacity ?? null,
      conditions: (initial.conditions ?? []).filter((condition) => !FAST_CONDITION_TYPES.has(condition.type)),
    });
    // From the store (or the replaced monitor): a restart does not report every VIM's conditions as new.
    this.conditions = initial.conditions ?? [];
    this.health = initial.health ?? null;
    // A replacement carries the counts on: otherwise a VIM whose rounds keep getting stuck would never reach a threshold.
    this.state = {
      status: initial.status,
      consecutiveFailures: initial.consecutiveFailures ?? 0,
      consecutiveSuccesses: initial.consecutiveSuccesses ?? 0,
    };
    this.statusSinceMs = (initial.since ?? deps.clock.now()).getTime();
    this.history = deps.history?.track(vimId, monitorId, current.tenantId);
  }

  start(initialDelayMs: number): void {
    const firstRoundAt = this.deps.clock.now().getTime() + Math.max(0, initialDelayMs);
    this.deep.plan(firstRoundAt, this.current.health);
    this.schedule(firstRoundAt);
  }

  /** New settings or credentials take effect from the next round; no restart. */
  update(next: MonitorTarget): void {
    this.current = next;
  }

  /**
   * Stops for good: no probe of this VIM starts afterwards, and what a probe
   * in flight answers is dropped (it ends by its round's deadline; the
   * deadline is shared by every round of the tick, so it is not cut short).
   */
  stop(): void {
    this.stopped = true;
    this.deep.stop();
    this.deps.gate?.settled?.(this.vimId);
    if (this.nextRoundAt !== undefined) this.deps.scheduler.cancel(this, this.nextRoundAt);
    this.nextRoundAt = undefined;
  }

  get status(): VimStatus {
    return this.state.status;
  }

  /**
   * Whether the latest round failed, if it ended at or after `sinceMs` (undefined: no round since). What the
   * isolation guard counts on its tick (src/guard): read from the state, no snapshot, nothing allocated.
   */
  latestRoundFailed(sinceMs: number): boolean | undefined {
    if (this.lastRoundAt === undefined || this.lastRoundAt < sinceMs) return undefined;
    return this.state.consecutiveFailures > 0;
  }

  /** Verdict state to carry over into a replacement, so a replacement never restarts from PENDING. */
  carryOver(): {
    status: VimStatus;
    since: Date;
    consecutiveFailures: number;
    consecutiveSuccesses: number;
    conditions: Condition[];
    health: Health | null;
    capacity: CapacityFigures | null;
  } {
    return {
      capacity: this.deep.capacity,
      conditions: this.conditions,
      health: this.health,
      status: this.state.status,
      since: new Date(this.statusSinceMs),
      consecutiveFailures: this.state.consecutiveFailures,
      consecutiveSuccesses: this.state.consecutiveSuccesses,
    };
  }

  /**
   * False when the loop crashed, a round has run past its deadline by more
   * than `graceMs`, or the next round is overdue by more than `graceMs`.
   */
  /** `now` (epoch ms) is the sweep's: one clock reading for all monitors. */
  isProcessing(graceMs: number, now: number): boolean {
    if (this.stopped || this.crashed) return false;
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
      status_since: tackerTimestamp(new Date(this.statusSinceMs)),
      state: this.stopped ? 'stopped' : this.crashed ? 'crashed' : this.inRound ? 'checking' : this.lastRoundAt === undefined ? 'starting' : 'idle',
      heartbeat_at: iso(this.heartbeat()),
      last_round_at: iso(this.lastRoundAt),
      next_round_at: iso(this.nextRoundAt),
      consecutive_failures: this.state.consecutiveFailures,
      consecutive_successes: this.state.consecutiveSuccesses,
      probes: this.details(),
      ...this.currentHealth(),
      capacity: this.deep.capacity,
      held: this.held ? { reason: this.held.reason, since: tackerTimestamp(new Date(this.held.sinceMs)) } : null,
      settings: this.current.settings,
    };
  }

  /** The latest round's conditions merged with the stored ones (for since); nothing is assessed before the first round. */
  private currentHealth(): Pick<MonitorSnapshot, 'conditions' | 'health' | 'failing_layer'> {
    if (this.lastRoundAt === undefined) return { conditions: this.conditions, health: this.health, failing_layer: null };
    const { conditions, health, failingLayer } = assess(this.conditions, this.results(this.current.settings.probes), tackerTimestamp(new Date(this.lastRoundAt)));
    return { conditions, health, failing_layer: failingLayer };
  }

  /** Called by the scheduler when this monitor's tick comes. */
  startRound(deadlines: TickDeadlines, startedAtMs: number): Promise<void> {
    // A crashed round leaves its tick's deadline timers to fire: it does not say it ended.
    return this.round(deadlines, startedAtMs).then(deadlines.roundEnded, this.roundCrashed);
  }

  private readonly roundCrashed = (error: unknown): void => {
    this.inRound = false;
    this.crashed = error instanceof Error ? error : new Error(String(error));
    this.deps.logger.error({ vim_id: this.vimId, monitor_id: this.monitorId, err: this.crashed }, 'monitor loop crashed');
  };

  private heartbeat(): number | undefined {
    if (this.roundStartedAt === undefined && this.lastRoundAt === undefined) return undefined;
    return Math.max(this.roundStartedAt ?? 0, this.lastRoundAt ?? 0);
  }

  private schedule(dueMs: number): void {
    if (this.stopped) return;
    this.nextRoundAt = this.deps.scheduler.schedule(this, dueMs, this.current.settings.interval * 1000);
    this.deps.stats?.scheduled();
  }

  /**
   * Starts the probes of a round; finishRound takes their outcomes. Not an
   * async function: a suspended async function keeps a frame as large as
   * all its locals (about 1 kB a round here), and at 1,000 rounds a second
   * that garbage was a large share of the process's collections (issue 13).
   * What the round started with is kept in fields instead (one round at a
   * time per monitor), and `finishOne` / `finishRound` are made once per monitor.
   */
  private round(deadlines: TickDeadlines, startedAt: number): Promise<void> {
    try {
      if (this.stopped) return ROUND_SKIPPED;
      const current = this.current;
      const settings = current.settings;
      const scheduledAt = this.nextRoundAt ?? startedAt;
      this.deps.stats?.executed(startedAt - scheduledAt);
      this.roundStartedAt = startedAt;
      this.roundScheduledAt = scheduledAt;
      this.roundCurrent = current;
      this.nextRoundAt = undefined;
      this.inRound = true;

      const signal = deadlines.signal(settings.timeout * 1000);
      const names = settings.probes;
      const authChecked = names.includes('auth') && this.authDue(settings, startedAt);
      const due = authChecked || !names.includes('auth') ? names : names.filter((name) => name !== 'auth');
      this.roundDue = due;
      this.roundAuthChecked = authChecked;
      // One probe (the common case) needs no Promise.all and no array.
      if (due.length === 1) return this.runProbe(due[0]!, current.target, signal).then(this.finishOne);
      const pending = new Array<Promise<ProbeOutcome>>(due.length);
      for (let i = 0; i < due.length; i++) pending[i] = this.runProbe(due[i]!, current.target, signal);
      return Promise.all(pending).then(this.finishRound);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private readonly finishOne = (outcome: ProbeOutcome): void => this.finishRound([outcome]);

  private readonly finishRound = (outcomes: readonly ProbeOutcome[]): void => {
    if (this.stopped) return;
    const { target, settings, tenantId, vimName } = this.roundCurrent;
    const due = this.roundDue;
    const authChecked = this.roundAuthChecked;
    const startedAt = this.roundStartedAt ?? 0;
    const scheduledAt = this.roundScheduledAt;
    const names = settings.probes;
    this.inRound = false;
    const checkedAtMs = this.deps.clock.now().getTime();
    let regions: string[] | undefined;
    for (let i = 0; i < due.length; i++) {
      const name = due[i]!;
      const outcome = outcomes[i]!;
      this.record(name, outcome, checkedAtMs, settings);
      this.deps.metrics?.probeChecked(this.vimId, name, outcome.ok, outcome.latencyMs);
      this.history?.checked(name, outcome.ok, outcome.latencyMs, checkedAtMs);
      if (name === 'auth') regions = outcome.regions;
    }
    if (authChecked) this.lastAuthAt = startedAt;

    // A probe counts with its latest result; auth keeps its last result between its own rounds.
    let probesOk = true;
    for (let i = 0; i < names.length; i++) if (this.records[names[i]!]?.ok === false) probesOk = false;
    // A required deep check that fails (a required catalog service down) counts like a failed probe: status means "every required check passes".
    const roundOk = probesOk && !this.deep.requiredFailure();
    const before = this.state.status;
    const next = applyRound(this.state, roundOk, settings);
    const decision = next.status === 'UNREACHABLE' && before !== 'UNREACHABLE' ? this.review(before, names, checkedAtMs) : undefined;
    // A held verdict keeps the status and the counts grow on: the next round asks the gate again.
    this.state = decision?.verdict === 'hold' ? { ...next, status: before } : next;
    this.lastRoundAt = checkedAtMs;
    this.deps.metrics?.statusChanged(this.vimId, this.state.status);
    const statusChanged = this.state.status !== before;
    if (this.held && roundOk) {
      this.held = undefined;
      this.deps.gate?.settled?.(this.vimId);
    }
    // The conditions must agree with a status that just changed: the thresholds have confirmed what the latest round saw.
    if (statusChanged) this.confirmLatest();
    // Most rounds change nothing: then not even the conditions are built, let alone assessed or stored.
    const unchanged = !statusChanged && this.sameShapeAsBefore(names);
    const results = unchanged ? undefined : gateByLayer(this.results(names));
    const conditionsChanged = results !== undefined && conditionsDiffer(this.conditions, results);
    const health = results && (statusChanged || conditionsChanged) ? this.assessHealth(results, startedAt, conditionsChanged) : undefined;
    if (results) this.rememberShape(names, conditionsChanged);
    // The time since the previous round counts for the status held over it (`before`), not for this round's verdict.
    this.history?.roundEnded(before, checkedAtMs, settings, conditionsChanged);
    if (health) this.deps.metrics?.conditionsChanged?.(this.vimId, health.conditions);
    if (statusChanged) {
      this.statusSinceMs = startedAt;
      this.deps.onStatusChange({
        vimId: this.vimId,
        vimName,
        tenantId,
        monitorId: this.monitorId,
        oldStatus: before,
        newStatus: this.state.status,
        reason: this.describe(names, roundOk) + (decision?.verdict === 'apply' && decision.note ? ` (${decision.note})` : ''),
        probes: this.details(),
        at: tickTimestamp(startedAt),
        ...(health && { health }),
      });
    } else if (health && conditionsChanged) {
      this.deps.onHealthChange?.(health);
    }
    if (regions && this.deps.onPlacement) this.deps.onPlacement(this.vimId, regions);
    // Deep checks go out only over layers the fast probes just found up: a cloud whose Keystone is down reports that, not a dozen service failures.
    if (probesOk && this.allRecorded(names)) this.deep.startIfDue(target, this.current.health, deepConfirmationOf(settings), checkedAtMs);

    // From the scheduled time, not the actual start: otherwise every round slips by up to one tick.
    this.schedule(Math.max(scheduledAt + settings.interval * 1000, checkedAtMs));
  };

  private allRecorded(names: readonly ProbeName[]): boolean {
    for (let i = 0; i < names.length; i++) if (this.records[names[i]!] === undefined) return false;
    return true;
  }

  /**
   * Whether this round's conditions would be what the last assessed round
   * found unchanged: the same probes showing the same results, the same
   * deep results, the same stored conditions. What decides a condition's
   * type, status, severity and layer is all in that, so the round needs no
   * conditions built to know that nothing changed.
   */
  private sameShapeAsBefore(names: readonly ProbeName[]): boolean {
    return (
      this.shapeNames === names && this.shapeConditions === this.conditions && this.shapeDeep === this.deep.conditions() && this.shapeFast === this.fastShape(names)
    );
  }

  private rememberShape(names: readonly ProbeName[], conditionsChanged: boolean): void {
    // After a change the stored conditions are new: the next round assesses again, then remembers.
    this.shapeNames = conditionsChanged ? undefined : names;
    this.shapeConditions = this.conditions;
    this.shapeDeep = this.deep.conditions();
    this.shapeFast = this.fastShape(names);
  }

  /**
   * What the fast probes' conditions are made of, as one number: per
   * configured probe, whether it has a result and whether it is shown as
   * passing, and for a failing api probe whether it failed on a certificate
   * (a CertificateValid condition of its own).
   */
  private fastShape(names: readonly ProbeName[]): number {
    let shape = 0;
    for (let i = 0; i < names.length; i++) {
      const record = this.records[names[i]!];
      shape = shape * 8 + (record === undefined ? 0 : record.shownOk ? 1 : isCertificateFailure(record.reason) ? 3 : 2);
    }
    return shape;
  }

  /**
   * The fast probes' conditions and the deep checks' latest ones, together.
   * A failed certificate the api probe saw is the more recent word on
   * CertificateValid, so the deep one then stays out (one condition per type).
   */
  private results(names: readonly ProbeName[]): ConditionResult[] {
    const fast = probeConditions(names, this.shownProbeResults());
    const deep = this.deep.conditions();
    if (deep.length === 0) return fast;
    return [...fast, ...deep.filter((result) => !fast.some((f) => f.type === result.type))];
  }

  /** The probes' results as their conditions show them: a change the thresholds have not confirmed yet says so in the reason. */
  private shownProbeResults(): ProbeResults {
    // The common round: every probe shows what it saw, so the records serve as they are (no object per round).
    let settled = true;
    for (const name in this.records) if (this.records[name as ProbeName]!.shownOk !== this.records[name as ProbeName]!.ok) settled = false;
    if (settled) return this.records;
    const shown: ProbeResults = {};
    const thresholds = this.current.settings;
    for (const name of Object.keys(this.records) as ProbeName[]) {
      const record = this.records[name]!;
      shown[name] = record.shownOk === record.ok ? record : { ok: record.shownOk, reason: `${record.reason} (${unconfirmedNote(record, thresholds)})` };
    }
    return shown;
  }

  private confirmLatest(): void {
    for (const record of Object.values(this.records)) record.shownOk = record.ok;
    this.deep.confirmLatest();
  }

  /** Adopts the round's conditions; `changed` lists nothing when only the status moved (no health event then). */
  private assessHealth(results: ReturnType<typeof gateByLayer>, startedAt: number, conditionsChanged: boolean): HealthChange {
    const at = tickTimestamp(startedAt);
    const changed = conditionsChanged ? changedTypes(this.conditions, results) : [];
    const assessment = assess(this.conditions, results, at);
    const oldHealth = this.health;
    this.conditions = assessment.conditions;
    this.health = assessment.health;
    return {
      vimId: this.vimId,
      vimName: this.current.vimName,
      tenantId: this.current.tenantId,
      monitorId: this.monitorId,
      status: this.state.status,
      oldHealth,
      newHealth: assessment.health,
      failingLayer: assessment.failingLayer,
      reason: assessment.reason,
      conditions: assessment.conditions,
      changed,
      at,
    };
  }

  /** Asks the gate about a down verdict; keeps what it holds for the snapshot, and tells it when the hold is over. */
  private review(from: VimStatus, names: readonly ProbeName[], atMs: number): GateDecision {
    const gate = this.deps.gate;
    if (!gate) return { verdict: 'apply' };
    const { target, tenantId, settings } = this.current;
    const failedProbes = names.filter((name) => this.records[name]?.ok === false);
    const decision = gate.review({ vimId: this.vimId, monitorId: this.monitorId, tenantId, target, from, reason: this.describe(names, false), atMs, settings, failedProbes });
    if (decision.verdict === 'hold') {
      if (this.held?.reason !== decision.reason) this.deps.logger.info({ vim_id: this.vimId, monitor_id: this.monitorId, reason: decision.reason }, 'down verdict held');
      this.held = { reason: decision.reason, sinceMs: this.held?.sinceMs ?? atMs };
    } else {
      this.held = undefined;
      gate.settled?.(this.vimId);
    }
    return decision;
  }

  /** Credentials are checked every auth_interval while good, and every round while failing. */
  private authDue(settings: MonitorSettings, now: number): boolean {
    if (this.lastAuthAt === undefined || this.records.auth?.ok === false) return true;
    return now - this.lastAuthAt >= settings.auth_interval * 1000;
  }

  private runProbe(name: ProbeName, target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const probe = this.deps.probes.get(name);
    if (!probe) return Promise.resolve({ ok: false, reason: `probe ${name} is not available in this process` });
    return probe.check(target, signal);
  }

  private record(name: ProbeName, outcome: ProbeOutcome, checkedAtMs: number, thresholds: MonitorSettings): void {
    const previous = this.records[name];
    if (previous) {
      // Updated in place: one object per probe for the monitor's life, not one per round.
      previous.consecutiveFailures = outcome.ok ? 0 : previous.consecutiveFailures + 1;
      previous.consecutiveSuccesses = outcome.ok ? previous.consecutiveSuccesses + 1 : 0;
      previous.ok = outcome.ok;
      previous.latencyMs = outcome.latencyMs;
      previous.reason = outcome.reason;
      previous.checkedAtMs = checkedAtMs;
      previous.shownOk = confirmedOk(previous.shownOk, previous, thresholds);
      return;
    }
    this.records[name] = {
      ok: outcome.ok,
      latencyMs: outcome.latencyMs,
      reason: outcome.reason,
      checkedAtMs,
      consecutiveFailures: outcome.ok ? 0 : 1,
      consecutiveSuccesses: outcome.ok ? 1 : 0,
      shownOk: this.firstShown(name, outcome.ok),
    };
  }

  /**
   * A probe's first result is shown as it is, unless the stored conditions
   * (a restart, a replaced monitor) said otherwise: then it needs the same
   * confirmation as any change.
   */
  private firstShown(name: ProbeName, ok: boolean): boolean {
    const type = name === 'icmp' || name === 'tcp' ? 'NetworkReachable' : name === 'api' ? 'IdentityAPI' : 'Authenticated';
    const stored = this.conditions.find((condition) => condition.type === type);
    if (!stored || stored.status === 'Unknown' || this.state.status === 'PENDING') return ok;
    const confirmed = stored.status === 'True';
    return confirmedOk(confirmed, { ok, consecutiveFailures: ok ? 0 : 1, consecutiveSuccesses: ok ? 1 : 0 }, this.current.settings);
  }

  /** The probe records as the API and events show them (a copy: later rounds do not change it). */
  private details(): ProbeDetails {
    const details: ProbeDetails = {};
    for (const name of Object.keys(this.records) as ProbeName[]) {
      const record = this.records[name]!;
      details[name] = {
        ok: record.ok,
        latency_ms: record.latencyMs === undefined ? null : Math.round(record.latencyMs * 1000) / 1000,
        reason: record.reason,
        checked_at: tackerTimestamp(new Date(record.checkedAtMs)),
        consecutive_failures: record.consecutiveFailures,
        consecutive_successes: record.consecutiveSuccesses,
      };
    }
    return details;
  }

  private describe(probes: readonly ProbeName[], roundOk: boolean): string {
    const parts: string[] = [];
    for (const name of probes) {
      const record = this.records[name];
      if (record !== undefined && (roundOk || !record.ok)) parts.push(`${name}: ${record.reason}`);
    }
    if (!roundOk) for (const failure of this.deep.requiredFailures()) parts.push(`${failure.type}: ${failure.reason}`);
    return (roundOk ? 'all probes succeeded: ' : 'failed: ') + parts.join('; ');
  }
}
