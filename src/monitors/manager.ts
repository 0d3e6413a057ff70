import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isStoreOutage } from '../errors.js';
import type { Probe, ProbeName } from '../probes/probe.js';
import { probeTargetOf } from '../probes/target.js';
import { NO_METRICS, type MetricsRecorder } from '../metrics/recorder.js';
import type { LeaseRepository } from '../store/lease-repository.js';
import type { MonitorRepository } from '../store/monitor-repository.js';
import type { VimRepository } from '../store/vim-repository.js';
import type { WorkerRepository } from '../store/worker-repository.js';
import { BackgroundErrors } from '../time/background-errors.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { PeriodicTask, type Timer } from '../time/periodic-task.js';
import type { VimRecord } from '../vims/model.js';
import type { VimLifecycleListener } from '../vims/registry.js';
import { VimMonitor, type MonitorDeps, type MonitorSnapshot, type MonitorTarget } from './monitor.js';
import { withSharedSettings } from './shared-settings.js';
import { RoundScheduler } from './round-scheduler.js';
import { RoundStats, type RoundStatsSnapshot } from './round-stats.js';
import { effectiveSettings, type MonitorSettings } from './settings.js';
import type { HealthSettings } from '../health/deep-check.js';
import type { DeepChecks } from '../health/deep-checks.js';
import { DEFAULT_HEALTH_SETTINGS, effectiveHealthSettings } from '../health/settings.js';
import { VimChangeWatch } from './vim-change-watch.js';
import type { MonitorWriteQueue } from './write-queue.js';
import type { VerdictGate } from './verdict-gate.js';
import type { HealthChange, StatusChange } from './status-change.js';
import type { HistoryRecorder } from '../history/recorder.js';
import type { OwnedVims } from '../maintenance/notification-hold.js';

export interface MonitorManagerOptions {
  defaults: MonitorSettings;
  /** The global `health.*` settings of the deep checks; DEFAULT_HEALTH_SETTINGS when absent. */
  healthDefaults?: HealthSettings;
  /** Fraction of the interval over which first rounds are spread at start-up. */
  jitter: number;
  sweepIntervalSeconds: number;
  stallGraceSeconds: number;
  /** More monitors stuck than this in one sweep: none is replaced (0: no limit). */
  failoverThreshold?: number;
  /** This worker's unique name, recorded as the owner of its monitors. */
  owner: string;
  /** Rounds start on this common tick (ms) so their pings share one fping process. */
  roundTickMs: number;
  /** Seconds a worker's lease lasts without a heartbeat: a dead worker's monitors are taken over after it (plus one sweep). */
  leaseTtlSeconds: number;
  /** Seconds between heartbeats; a heartbeat renews this worker's lease on all its monitors at once. */
  heartbeatIntervalSeconds: number;
  /** False for a database only this process can open (SQLite): at start it takes over every monitor at once. */
  sharedDatabase: boolean;
  servesApi: boolean;
  /** What sends the probes of this process, for GET /v1.0/manager: 'native', 'node', both by probe, or 'simulated'. */
  probeEngine?: string;
}

export interface MonitorManagerDeps {
  vims: VimRepository;
  monitors: MonitorRepository;
  leases: LeaseRepository;
  workers: WorkerRepository;
  writes: MonitorWriteQueue;
  probes: ReadonlyMap<ProbeName, Probe>;
  /** The deep checks, sharing the probes' caches; without them only the fast probes run. */
  deepChecks?: DeepChecks;
  /** Reviews every down verdict before it applies (issue 11); every verdict applies without one. */
  gate?: VerdictGate;
  /** Flags changes stored while a VIM's notifications are held (issue 11: maintenance windows, flapping); none are without one. */
  hold?: ChangeHold;
  /** Decrypts a VIM's credentials for its probes. */
  credentialsOf(vim: VimRecord): Record<string, string>;
  clock: Clock;
  random: () => number;
  logger: Logger;
  metrics?: MetricsRecorder;
  newMonitorId?: () => string;
  /** The sweep's and the heartbeat's timers (tests drive them). */
  timer?: Timer;
  /** Status history of this worker's VIMs (issue 12): started and closed with the manager, told when a VIM leaves it. */
  history?: HistoryRecorder;
}

/** What the notification hold (src/maintenance/notification-hold.ts) does to a change before it is queued for the store. */
export interface ChangeHold {
  status(change: StatusChange): StatusChange;
  health(change: HealthChange): HealthChange;
}

export interface ManagedMonitor extends MonitorSnapshot {
  owner: string;
  replacements: number;
}

interface Entry {
  monitor: VimMonitor;
  target: MonitorTarget;
  revision: number;
  replacements: number;
}

const CHUNK = 500;

/**
 * The VIM monitor manager of the spec: registers a monitor (new id) when a
 * VIM is created, unregisters it when the VIM is deleted, and sweeps
 * periodically, forcibly deleting any monitor that is not processing and
 * dispatching a fresh one so that no VIM goes unwatched.
 *
 * With several workers on one database, each owns its monitors for as long
 * as its heartbeat is live (one lease per worker); the sweep claims free rows
 * or those of dead workers
 * up to this worker's fair share and hands back what is above it, so the
 * load splits evenly and a dead worker's monitors are taken over.
 */
export class MonitorManager implements VimLifecycleListener {
  private readonly entries = new Map<string, Entry>();
  /** The VIMs this process monitors, without formatting anything or an object per VIM (the notification hold counts them every pass). */
  readonly owned: OwnedVims = ownedView(this.entries);
  private readonly lastPlacement = new Map<string, string[]>();
  private readonly roundStats = new RoundStats();
  private readonly scheduler: RoundScheduler;
  /** Whether any VIM changed since the last full read of them all (sweeps). */
  private readonly vimChanges: VimChangeWatch;
  private readonly newMonitorId: () => string;
  private readonly metrics: MetricsRecorder;
  private readonly startedAtMs: number;
  private readonly sweepErrors: BackgroundErrors;
  private readonly heartbeatErrors: BackgroundErrors;
  private readonly sweepTask: PeriodicTask;
  private readonly heartbeatTask: PeriodicTask;
  /** The sweep and the heartbeat never run at the same time: each waits for the other's pass. */
  private busy: Promise<void> = Promise.resolve();
  private sharedMonitorDeps: MonitorDeps | undefined;
  /** When the last heartbeat renewed this worker's lease (epoch ms); the start time until one did. */
  private lastHeartbeatMs: number;
  /** Whether a heartbeat has stored this worker's row yet: before one has, other workers would take what it claims. */
  private heartbeatStored = false;
  private leasesAtRiskLogged = false;
  /** Whether the last sweep found more monitors stuck than failover_threshold (logged once per episode). */
  private overloadLogged = false;
  private totalReplacements = 0;
  private takeovers = 0;
  private liveWorkers = 1;
  /** Claims since the last one that read the whole monitors table for rows of owners `workers` no longer lists. */
  private claimsSinceFullRead = 0;

  constructor(
    private readonly options: MonitorManagerOptions,
    private readonly deps: MonitorManagerDeps,
  ) {
    this.newMonitorId = deps.newMonitorId ?? randomUUID;
    this.metrics = deps.metrics ?? NO_METRICS;
    this.startedAtMs = deps.clock.now().getTime();
    const policy = { logger: deps.logger, clock: deps.clock, metrics: this.metrics };
    this.scheduler = new RoundScheduler(deps.clock, options.roundTickMs, new BackgroundErrors('round', policy));
    this.vimChanges = new VimChangeWatch(() => deps.vims.changeCounter());
    this.lastHeartbeatMs = this.startedAtMs;
    this.sweepErrors = new BackgroundErrors('sweep', { ...policy, outageMessage: 'sweep: database unavailable, monitors carry on in memory' });
    this.heartbeatErrors = new BackgroundErrors('heartbeat', { ...policy, outageMessage: 'heartbeat failed: database unavailable' });
    const timer = deps.timer && { timer: deps.timer };
    this.sweepTask = new PeriodicTask({
      intervalMs: options.sweepIntervalSeconds * 1000,
      run: () => this.exclusive(() => this.sweepPass()),
      errors: this.sweepErrors,
      ...timer,
    });
    this.heartbeatTask = new PeriodicTask({
      intervalMs: options.heartbeatIntervalSeconds * 1000,
      run: () => this.exclusive(() => this.heartbeat()),
      errors: this.heartbeatErrors,
      ...timer,
    });
  }

  /**
   * Start-up: orphan rows removed, a row for every VIM, this worker's share claimed, statuses carried on from the
   * database. The heartbeat comes before the claim: a row's lease is its owner's heartbeat, so rows claimed by a
   * worker with no live row in `workers` would look free to every other worker.
   */
  async start(): Promise<void> {
    const orphans = await this.deps.monitors.removeOrphans();
    await this.deps.leases.ensureRows(this.now());
    // Rows under this name now are a previous life's (this one runs nothing yet): free, they can be claimed below.
    const previousLife = this.options.sharedDatabase ? await this.deps.leases.releaseAll(this.options.owner) : 0;
    await this.heartbeat().catch((error: unknown) => this.heartbeatErrors.failed(error));
    // Without a stored heartbeat claim() takes nothing; the sweeps claim once heartbeats succeed.
    const claimed = await this.claim(this.fairShare(await this.deps.leases.count()), true);
    this.deps.logger.info(
      { owner: this.options.owner, monitors: this.entries.size, claimed, orphans_removed: orphans, previous_life_rows: previousLife, live_workers: this.liveWorkers },
      'monitor manager started',
    );
    this.heartbeatTask.start();
    this.sweepTask.start();
    this.deps.history?.start();
  }

  /**
   * Graceful stop: monitors stop, their rows are handed back at once, the worker leaves. Its row goes after the
   * hand-back: any row it still holds (a hand-back that failed, a row it never ran) is then free to claim at once.
   */
  async stop(): Promise<void> {
    await Promise.all([this.sweepTask.stop(), this.heartbeatTask.stop()]);
    await this.busy;
    const owned = [...this.entries.keys()];
    for (const entry of this.entries.values()) entry.monitor.stop();
    this.entries.clear();
    await this.deps.writes.drain(5_000);
    // Before the leases go: the next owner reads the stored day when it takes a VIM over, and must find this worker's hours in it.
    await this.deps.history?.close();
    try {
      await this.deps.leases.release(this.options.owner, owned);
      await this.deps.workers.remove(this.options.owner);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'could not hand monitors back on stop; their lease lapses lease_ttl after the last heartbeat');
    }
  }

  async vimCreated(vim: VimRecord): Promise<void> {
    // First verdict within one interval: this worker takes the new VIM itself, no start-up spread.
    const monitorId = this.newMonitorId();
    try {
      await this.deps.monitors.assign(vim.id, monitorId, this.options.owner, this.now(), false);
    } catch (error) {
      // The VIM is stored already: its request must not fail (a 5xx that stored something). The next sweep
      // creates the missing monitor row and claims it, as for any failed hook.
      if (!isStoreOutage(error)) throw error;
      this.deps.logger.warn({ vim_id: vim.id, code: error.code }, 'VIM stored but its monitor row not: the next sweep assigns it');
      return;
    }
    this.run(vim, monitorId, 0, { status: vim.status, conditions: vim.conditions, health: vim.health, capacity: vim.capacity });
  }

  async vimUpdated(vim: VimRecord): Promise<void> {
    const entry = this.entries.get(vim.id);
    if (!entry) return; // another worker runs it and will see the new revision in its sweep
    // Cached tokens and connections were made with the old credentials and TLS settings.
    this.forget(vim.id);
    entry.target = this.targetOf(vim);
    entry.monitor.update(entry.target);
    entry.revision = vim.revision;
  }

  async vimDeleted(vim: VimRecord): Promise<void> {
    this.unregister(vim.id, 'gone');
    await this.deps.monitors.remove(vim.id);
  }

  monitorOf(vimId: string): ManagedMonitor | undefined {
    const entry = this.entries.get(vimId);
    return entry ? this.present(entry) : undefined;
  }

  list(): ManagedMonitor[] {
    return [...this.entries.values()].map((entry) => this.present(entry));
  }


  get replacements(): number {
    return this.totalReplacements;
  }

  /** This process's monitoring at a glance: for operators and the benchmark. */
  stats(): {
    owner: string;
    monitors: number;
    live_workers: number;
    replacements: number;
    takeovers: number;
    rounds: RoundStatsSnapshot;
    pending_writes: number;
    probe_engine: string | null;
  } {
    return {
      owner: this.options.owner,
      monitors: this.entries.size,
      live_workers: this.liveWorkers,
      replacements: this.totalReplacements,
      takeovers: this.takeovers,
      rounds: this.roundStats.snapshot(),
      pending_writes: this.deps.writes.stats().pending,
      probe_engine: this.options.probeEngine ?? null,
    };
  }

  /**
   * How many of this worker's monitors ended a round since `sinceMs`, and how many of those failed it: the
   * isolation guard's count (src/guard), one pass over the monitors on its own tick, nothing per round.
   */
  roundOutcomes(sinceMs: number): { recent: number; failing: number } {
    let recent = 0;
    let failing = 0;
    for (const entry of this.entries.values()) {
      const failed = entry.monitor.latestRoundFailed(sinceMs);
      if (failed === undefined) continue;
      recent += 1;
      if (failed) failing += 1;
    }
    return { recent, failing };
  }

  /** Whether the heartbeat or the sweep is in a database outage now (the isolation guard's outage grace). */
  storeOutage(): boolean {
    return this.heartbeatErrors.inOutage || this.sweepErrors.inOutage;
  }

  /**
   * One sweep: replace stuck monitors, follow VIM changes, rebalance. Exposed for tests. A failure goes to the
   * loops' error policy (src/time/background-errors.ts) and the next sweep tries again.
   */
  async sweep(): Promise<void> {
    try {
      await this.sweepPass();
    } catch (error) {
      this.sweepErrors.failed(error);
      return;
    }
    this.sweepErrors.succeeded();
  }

  private async sweepPass(): Promise<void> {
    this.replaceStuckMonitors();
    await this.reconcile();
    await this.rebalance();
  }

  private replaceStuckMonitors(): void {
    const graceMs = this.options.stallGraceSeconds * 1000;
    const nowMs = this.deps.clock.now().getTime();
    const stuck: Array<[string, Entry]> = [];
    // forEach, not for…of over entries(): no [key, value] array per monitor every sweep.
    this.entries.forEach((entry, vimId) => {
      if (!entry.monitor.isProcessing(graceMs, nowMs)) stuck.push([vimId, entry]);
    });
    const threshold = this.options.failoverThreshold ?? 0;
    if (threshold > 0 && stuck.length > threshold) {
      // Hundreds of monitors stuck at once is this process falling behind (CPU, event loop), not hundreds of
      // bad monitors: replacing them would start more rounds and feed the overload (seen at 10,000 VIMs).
      if (!this.overloadLogged) this.deps.logger.error({ stuck: stuck.length, monitors: this.entries.size, failover_threshold: threshold }, 'too many monitors not processing at once: the process is overloaded; none replaced');
      this.overloadLogged = true;
      this.metrics.replacementsWithheld?.(stuck.length);
      return;
    }
    if (this.overloadLogged) this.deps.logger.info({ stuck: stuck.length }, 'monitors not processing are back under manager.failover_threshold: replacing them again');
    this.overloadLogged = false;
    for (const [vimId, entry] of stuck) {
      const reason = entry.monitor.whyNotProcessing();
      entry.monitor.stop();
      this.totalReplacements += 1;
      this.metrics.monitorReplaced();
      const monitorId = this.newMonitorId();
      // Queued behind the old monitor's pending writes, so none of its verdicts is fenced out.
      this.deps.writes.push({
        kind: 'assign',
        vimId,
        monitorId,
        owner: this.options.owner,
        at: this.now(),
        replacement: true,
        onlyIfOwner: this.options.owner,
      });
      const fresh = this.createMonitor(vimId, monitorId, entry.target, entry.monitor.carryOver());
      this.entries.set(vimId, { ...entry, monitor: fresh, replacements: entry.replacements + 1 });
      fresh.start(0);
      this.deps.logger.warn(
        { vim_id: vimId, monitor_id: entry.monitor.monitorId, new_monitor_id: monitorId, reason, replacements: this.totalReplacements },
        'monitor not processing: forcibly deleted and replaced',
      );
    }
  }

  /** Follows VIMs created, changed or deleted through another process (or a failed hook). */
  private async reconcile(): Promise<void> {
    // Both reads below cost as much as there are VIMs and mostly find nothing: the change counter (one row) says
    // whether any VIM was created, changed or deleted since the last full read; every 10th sweep reads anyway.
    const due = await this.vimChanges.fullReadDue(10);
    if (!due) return;
    await this.deps.leases.ensureRows(this.now());
    const revisions = await this.deps.vims.revisions();
    for (const [vimId, entry] of [...this.entries]) {
      const revision = revisions.get(vimId);
      if (revision === undefined) {
        this.unregister(vimId, 'gone');
        this.deps.logger.info({ vim_id: vimId, monitor_id: entry.monitor.monitorId }, 'VIM is gone: monitor unregistered');
      } else if (revision !== entry.revision) {
        const vim = await this.deps.vims.findById(vimId);
        if (vim) await this.vimUpdated(vim);
      }
    }
    this.vimChanges.followed(due);
  }

  /** Claims up to the fair share, or hands back what is above it (gracefully, not by letting leases lapse). */
  private async rebalance(): Promise<void> {
    // Counted again here, not only at heartbeats: a dead worker's lease lapses at the moment its heartbeat goes
    // stale, and waiting for this worker's next heartbeat to notice would delay the takeover by up to heartbeat_interval.
    await this.countLiveWorkers(this.deps.clock.now().getTime());
    // Counting every monitor row each sweep is as dear as the table is long: the count of the last full read of
    // the VIMs holds (rows come and go with VIMs) and is taken again whenever the number of live workers changes.
    const rows = await this.vimChanges.monitorRows(this.liveWorkers, () => this.deps.leases.count());
    const share = this.fairShare(rows);
    const owned = this.entries.size;
    if (owned < share) {
      const claimed = await this.claim(share - owned, false);
      if (claimed > 0) this.deps.logger.info({ claimed, owned: this.entries.size, share }, 'claimed monitors');
      return;
    }
    // A little slack so that rounding never makes two workers trade monitors back and forth.
    const excess = owned - share;
    if (excess <= Math.max(1, Math.floor(share * 0.05))) return;
    const handedBack = [...this.entries.keys()].slice(0, excess);
    for (const vimId of handedBack) this.unregister(vimId, 'handed back');
    await this.deps.writes.drain(2_000);
    await this.deps.history?.release(handedBack);
    await this.deps.leases.release(this.options.owner, handedBack);
    this.deps.logger.info({ released: handedBack.length, owned: this.entries.size, share }, 'handed monitors back for rebalancing');
  }

  /** Heartbeat: renews this worker's lease and stops monitors whose rows another worker took (e.g. after this one was paused). */
  private async heartbeat(): Promise<void> {
    const nowMs = this.deps.clock.now().getTime();
    try {
      await this.renewLeases(nowMs);
    } catch (error) {
      this.leasesAtRisk(nowMs);
      throw error;
    }
  }

  /**
   * Heartbeats failing for longer than lease_ttl: this worker's leases have lapsed and other workers may take its
   * monitors over (they will run them twice until this one notices). Said once per episode, at error level.
   */
  private leasesAtRisk(nowMs: number): void {
    // On a database only this process can open (SQLite) nobody can take a lease: nothing is at risk.
    if (!this.options.sharedDatabase || this.leasesAtRiskLogged) return;
    const failingMs = nowMs - this.lastHeartbeatMs;
    if (failingMs <= this.options.leaseTtlSeconds * 1000) return;
    this.leasesAtRiskLogged = true;
    this.deps.logger.error(
      { owner: this.options.owner, monitors: this.entries.size, failing_seconds: failingMs / 1000, lease_ttl_seconds: this.options.leaseTtlSeconds },
      "leases at risk: heartbeats have failed for longer than lease_ttl, so this worker's leases have lapsed and other workers may take over its monitors",
    );
  }

  /**
   * The worker row's heartbeat is the renewal of every monitor it owns: no monitor row is written. Loss is found by
   * counting the rows this worker holds, and only when the count differs are they read. Throws on any failure; the
   * heartbeat task's error policy logs it.
   */
  private async renewLeases(nowMs: number): Promise<void> {
    await this.deps.workers.heartbeat(this.options.owner, this.startedAtMs, nowMs, this.options.servesApi);
    this.heartbeatStored = true;
    // No other process can open a database that is not shared (the SQLite file is locked), so none can take a row:
    // there is nothing to check. Claims there never take this worker's own rows instead.
    const held = this.options.sharedDatabase ? await this.deps.leases.heldIfChanged(this.options.owner, this.entries.size) : undefined;
    this.lastHeartbeatMs = nowMs;
    if (this.leasesAtRiskLogged) {
      this.leasesAtRiskLogged = false;
      this.deps.logger.warn({ owner: this.options.owner, monitors: this.entries.size }, 'heartbeat renewed the leases again');
    }
    // undefined: this worker holds as many rows as it runs monitors (or nothing is checked), nothing lost.
    for (const [vimId, entry] of held ? [...this.entries] : []) {
      // The row's monitor id may lag a replacement still in the write queue: only another owner (or no row) means loss.
      if (held?.has(vimId)) continue;
      this.unregister(vimId, 'lost');
      this.deps.logger.warn({ vim_id: vimId, monitor_id: entry.monitor.monitorId }, 'lease lost to another worker: monitor stopped');
    }
    await this.countLiveWorkers(nowMs);
    await this.deps.workers.prune(nowMs - 10 * this.options.leaseTtlSeconds * 1000);
    this.metrics.monitorsOwned(this.entries.size);
  }

  /** Workers whose heartbeat is younger than lease_ttl (the fair share divides by them). */
  private async countLiveWorkers(nowMs: number): Promise<void> {
    // On a database only this process can open, any other worker row is a previous life of this service.
    this.liveWorkers = this.options.sharedDatabase
      ? Math.max(1, (await this.deps.workers.live(nowMs - this.options.leaseTtlSeconds * 1000)).length)
      : 1;
  }

  private async claim(limit: number, atStart: boolean): Promise<number> {
    const nowMs = this.deps.clock.now().getTime();
    // What it claimed would look lapsed to the other workers while its own row is missing or stale.
    if (this.options.sharedDatabase && !this.heartbeatLive(nowMs)) return 0;
    // On a database only this process can open nothing depends on its heartbeat (a failed one would make "lapsed"
    // include rows it runs): it takes other owners' rows instead, and at start-up every row, since a previous life
    // may have run under this same worker name.
    // A shared database: the whole table is read for owners with no worker row (pruned, or older) at start and every
    // 10th claim; the others read indexes only (free rows, rows of workers listed stale), since most find nothing.
    const full = atStart || ++this.claimsSinceFullRead >= 10;
    if (full) this.claimsSinceFullRead = 0;
    const scope = this.options.sharedDatabase ? (full ? 'lapsed' : 'lapsed-listed') : atStart ? 'all' : 'others';
    const claimed = await this.deps.leases.claim(this.options.owner, nowMs - this.options.leaseTtlSeconds * 1000, limit, this.now(), scope);
    if (!atStart) {
      this.takeovers += claimed.length;
      this.metrics.monitorsTakenOver(claimed.length);
    }
    for (let start = 0; start < claimed.length; start += CHUNK) {
      const chunk = claimed.slice(start, start + CHUNK);
      const vims = new Map((await this.deps.vims.list({ ids: chunk.map((c) => c.vimId) })).map((vim) => [vim.id, vim]));
      for (const { vimId, monitorId } of chunk) {
        const vim = vims.get(vimId);
        if (!vim) continue;
        // At start-up spread first rounds over the interval; a takeover checks at once.
        const delay = atStart ? this.deps.random() * this.options.jitter * this.settingsOf(vim).interval * 1000 : 0;
        this.run(vim, monitorId, delay, { status: vim.status, conditions: vim.conditions, health: vim.health, capacity: vim.capacity });
      }
    }
    return claimed.length;
  }

  private fairShare(total: number): number {
    return Math.ceil(total / Math.max(1, this.liveWorkers));
  }

  private run(vim: VimRecord, monitorId: string, initialDelayMs: number, initial: ConstructorParameters<typeof VimMonitor>[4]): void {
    this.entries.get(vim.id)?.monitor.stop();
    const target = this.targetOf(vim);
    const monitor = this.createMonitor(vim.id, monitorId, target, initial);
    this.entries.set(vim.id, { monitor, target, revision: vim.revision, replacements: 0 });
    monitor.start(initialDelayMs);
  }

  /**
   * Stops the VIM's monitor and lets the probes drop what they cached for it (tokens, connections). Its history is
   * forgotten, unless the VIM is handed back: then the caller has it written first (HistoryRecorder.release).
   */
  private unregister(vimId: string, why: 'gone' | 'lost' | 'handed back'): void {
    if (why !== 'handed back') this.deps.history?.forget(vimId);
    this.entries.get(vimId)?.monitor.stop();
    this.entries.delete(vimId);
    this.metrics.vimForgotten(vimId);
    this.lastPlacement.delete(vimId);
    this.forget(vimId);
  }

  /** Tokens, catalogs and connections cached for the VIM, by the probes and the deep checks alike. */
  private forget(vimId: string): void {
    for (const probe of this.deps.probes.values()) probe.forget?.(vimId);
    this.deps.deepChecks?.forget(vimId);
  }

  private createMonitor(vimId: string, monitorId: string, target: MonitorTarget, initial: ConstructorParameters<typeof VimMonitor>[4]): VimMonitor {
    return new VimMonitor(monitorId, vimId, target, this.monitorDeps(), initial);
  }

  /** One deps object for all monitors: nothing in it is per VIM, and a copy per monitor cost ~220 bytes each. */
  private monitorDeps(): MonitorDeps {
    this.sharedMonitorDeps ??= {
      probes: this.deps.probes,
      clock: this.deps.clock,
      logger: this.deps.logger,
      onStatusChange: (change) => this.deps.writes.push({ kind: 'status', change: this.deps.hold ? this.deps.hold.status(change) : change }),
      onHealthChange: (change) => this.deps.writes.push({ kind: 'health', change: this.deps.hold ? this.deps.hold.health(change) : change }),
      onPlacement: (id, regions) => this.placementSeen(id, regions),
      onCapacity: (id, monitor, capacity) => this.deps.writes.push({ kind: 'capacity', vimId: id, monitorId: monitor, capacity }),
      ...(this.deps.deepChecks && { deepChecks: this.deps.deepChecks }),
      ...(this.deps.gate && { gate: this.deps.gate }),
      random: this.deps.random,
      scheduler: this.scheduler,
      stats: this.roundStats,
      metrics: this.metrics,
      ...(this.deps.history && { history: this.deps.history }),
      };
    return this.sharedMonitorDeps;
  }

  private placementSeen(vimId: string, regions: string[]): void {
    const sorted = [...regions].sort();
    const known = this.lastPlacement.get(vimId);
    if (known && known.join('\u0000') === sorted.join('\u0000')) return;
    this.lastPlacement.set(vimId, sorted);
    this.deps.writes.push({ kind: 'placement', vimId, placement: { regions: sorted } });
  }

  private targetOf(vim: VimRecord): MonitorTarget {
    if (!this.lastPlacement.has(vim.id)) this.lastPlacement.set(vim.id, [...vim.placementAttr.regions].sort());
    const settings = this.settingsOf(vim);
    return withSharedSettings({ tenantId: vim.tenantId, vimName: vim.name, target: probeTargetOf(vim, this.deps.credentialsOf(vim)), settings, health: this.healthOf(settings) });
  }

  private settingsOf(vim: VimRecord): MonitorSettings {
    try {
      return effectiveSettings(this.options.defaults, vim.monitorSettings);
    } catch {
      // Stored settings that no longer fit the (changed) global defaults: watch with the defaults rather than not at all.
      return this.options.defaults;
    }
  }

  private healthOf(settings: MonitorSettings): HealthSettings {
    const defaults = this.options.healthDefaults ?? DEFAULT_HEALTH_SETTINGS;
    try {
      return effectiveHealthSettings(defaults, settings.health);
    } catch {
      // As for settingsOf: stored settings that no longer fit are watched with the defaults.
      return effectiveHealthSettings(defaults, undefined);
    }
  }

  private present(entry: Entry): ManagedMonitor {
    return { ...entry.monitor.snapshot(), owner: this.options.owner, replacements: entry.replacements };
  }

  private now(): string {
    return tackerTimestamp(this.deps.clock.now());
  }

  /**
   * Whether this worker's stored heartbeat keeps its rows for a while yet: stored, and younger than lease_ttl less
   * one heartbeat interval (the claim's rows must not lapse before the next heartbeat is due).
   */
  private heartbeatLive(nowMs: number): boolean {
    const marginMs = (this.options.leaseTtlSeconds - this.options.heartbeatIntervalSeconds) * 1000;
    return this.heartbeatStored && nowMs - this.lastHeartbeatMs < marginMs;
  }

  /** Runs `task` after the sweep's or heartbeat's pass in flight; rejects as `task` does. */
  private exclusive(task: () => Promise<void>): Promise<void> {
    const run = this.busy.then(task);
    this.busy = run.catch(() => undefined);
    return run;
  }

}

function ownedView(entries: ReadonlyMap<string, Entry>): OwnedVims {
  return {
    get size() {
      return entries.size;
    },
    forEach(visit) {
      entries.forEach((entry, vimId) => visit(vimId, entry.target.tenantId));
    },
  };
}
