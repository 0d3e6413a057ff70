import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Probe, ProbeName } from '../probes/probe.js';
import { probeTargetOf } from '../probes/target.js';
import type { MonitorRepository } from '../store/monitor-repository.js';
import type { VimRepository } from '../store/vim-repository.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import type { VimRecord } from '../vims/model.js';
import type { VimLifecycleListener } from '../vims/registry.js';
import { VimMonitor, type MonitorSnapshot, type MonitorTarget } from './monitor.js';
import { RoundStats, type RoundStatsSnapshot } from './round-stats.js';
import { effectiveSettings, type MonitorSettings } from './settings.js';
import type { MonitorWriteQueue } from './write-queue.js';

export interface MonitorManagerOptions {
  defaults: MonitorSettings;
  /** Fraction of the interval over which first rounds are spread at start-up. */
  jitter: number;
  sweepIntervalSeconds: number;
  stallGraceSeconds: number;
  /** This worker's name, recorded as the owner of its monitors. */
  owner: string;
  /** Rounds start on this common tick (ms) so their pings share one fping process. */
  roundTickMs: number;
}

export interface MonitorManagerDeps {
  vims: VimRepository;
  monitors: MonitorRepository;
  writes: MonitorWriteQueue;
  probes: ReadonlyMap<ProbeName, Probe>;
  /** Decrypts a VIM's credentials for its probes. */
  credentialsOf(vim: VimRecord): Record<string, string>;
  clock: Clock;
  random: () => number;
  logger: Logger;
  newMonitorId?: () => string;
}

export interface ManagedMonitor extends MonitorSnapshot {
  owner: string;
  replacements: number;
}

interface Entry {
  monitor: VimMonitor;
  revision: number;
  replacements: number;
}

/**
 * The VIM monitor manager of the spec: registers a monitor (new id) when a
 * VIM is created, unregisters it when the VIM is deleted, and sweeps
 * periodically, forcibly deleting any monitor that is not processing and
 * dispatching a fresh one so that no VIM goes unwatched. The sweep also
 * reconciles the monitors with the VIMs in the database.
 */
export class MonitorManager implements VimLifecycleListener {
  private readonly entries = new Map<string, Entry>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  private readonly newMonitorId: () => string;
  private totalReplacements = 0;
  private readonly roundStats = new RoundStats();

  constructor(
    private readonly options: MonitorManagerOptions,
    private readonly deps: MonitorManagerDeps,
  ) {
    this.newMonitorId = deps.newMonitorId ?? randomUUID;
  }

  /** Start-up: a monitor for every VIM, orphan rows removed, statuses carried on from the database. */
  async start(): Promise<void> {
    const removed = await this.deps.monitors.removeOrphans();
    const vims = await this.deps.vims.list({});
    for (const vim of vims) {
      const spread = this.deps.random() * this.options.jitter * this.settingsOf(vim).interval * 1000;
      await this.dispatch(vim, { replacement: false, initialDelayMs: spread, persist: 'now' });
    }
    this.deps.logger.info({ monitors: vims.length, orphans_removed: removed, owner: this.options.owner }, 'monitor manager started');
    this.scheduleSweep();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    await this.sweeping;
    for (const entry of this.entries.values()) entry.monitor.stop();
    this.entries.clear();
  }

  async vimCreated(vim: VimRecord): Promise<void> {
    // First verdict within one interval: no start-up spread for a new VIM.
    await this.dispatch(vim, { replacement: false, initialDelayMs: 0, persist: 'now' });
  }

  async vimUpdated(vim: VimRecord): Promise<void> {
    const entry = this.entries.get(vim.id);
    if (!entry) return this.vimCreated(vim);
    // Cached tokens and connections were made with the old credentials and TLS settings.
    for (const probe of this.deps.probes.values()) probe.forget?.(vim.id);
    entry.monitor.update(this.targetOf(vim));
    entry.revision = vim.revision;
  }

  async vimDeleted(vim: VimRecord): Promise<void> {
    this.unregister(vim.id);
    await this.deps.monitors.remove(vim.id);
  }

  /** Stops the VIM's monitor and lets the probes drop what they cached for it (tokens, connections). */
  private unregister(vimId: string): void {
    this.entries.get(vimId)?.monitor.stop();
    this.entries.delete(vimId);
    this.targets.delete(vimId);
    this.lastPlacement.delete(vimId);
    for (const probe of this.deps.probes.values()) probe.forget?.(vimId);
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
  stats(): { owner: string; monitors: number; replacements: number; rounds: RoundStatsSnapshot; pending_writes: number } {
    return {
      owner: this.options.owner,
      monitors: this.entries.size,
      replacements: this.totalReplacements,
      rounds: this.roundStats.snapshot(),
      pending_writes: this.deps.writes.stats().pending,
    };
  }

  /** One sweep; exposed so tests and the shutdown path can run it on demand. */
  async sweep(): Promise<void> {
    const graceMs = this.options.stallGraceSeconds * 1000;
    for (const [vimId, entry] of this.entries) {
      if (entry.monitor.isProcessing(graceMs)) continue;
      const reason = entry.monitor.whyNotProcessing();
      entry.monitor.stop();
      this.totalReplacements += 1;
      const vim = await this.deps.vims.findById(vimId).catch(() => undefined);
      const fresh = this.createMonitor(vimId, vim ? this.targetOf(vim) : this.lastTargetOf(entry), entry.monitor.carryOver());
      fresh.start(0);
      this.entries.set(vimId, { monitor: fresh, revision: vim?.revision ?? entry.revision, replacements: entry.replacements + 1 });
      this.deps.writes.push(this.assignment(vimId, fresh.monitorId, true));
      this.deps.logger.warn(
        { vim_id: vimId, monitor_id: entry.monitor.monitorId, new_monitor_id: fresh.monitorId, reason, replacements: this.totalReplacements },
        'monitor not processing: forcibly deleted and replaced',
      );
    }
    await this.reconcile();
  }

  /** Catches up with VIMs created, changed or deleted behind this process's back (another process, a failed hook). */
  private async reconcile(): Promise<void> {
    let revisions: Map<string, number>;
    try {
      revisions = await this.deps.vims.revisions();
    } catch (error) {
      this.deps.logger.debug({ err: error }, 'reconcile skipped: database unavailable');
      return;
    }
    for (const [vimId, entry] of this.entries) {
      if (revisions.has(vimId)) continue;
      this.unregister(vimId);
      this.deps.logger.info({ vim_id: vimId, monitor_id: entry.monitor.monitorId }, 'VIM is gone: monitor unregistered');
    }
    for (const [vimId, revision] of revisions) {
      const entry = this.entries.get(vimId);
      if (entry && entry.revision === revision) continue;
      const vim = await this.deps.vims.findById(vimId).catch(() => undefined);
      if (!vim) continue;
      if (entry) await this.vimUpdated(vim);
      else await this.dispatch(vim, { replacement: false, initialDelayMs: 0, persist: 'queued' });
    }
  }

  private async dispatch(
    vim: VimRecord,
    how: { replacement: boolean; initialDelayMs: number; persist: 'now' | 'queued' },
  ): Promise<void> {
    this.entries.get(vim.id)?.monitor.stop();
    const monitor = this.createMonitor(vim.id, this.targetOf(vim), { status: vim.status });
    const assignment = this.assignment(vim.id, monitor.monitorId, how.replacement);
    if (how.persist === 'now') await this.deps.monitors.assign(vim.id, monitor.monitorId, assignment.owner, assignment.at, how.replacement);
    else this.deps.writes.push(assignment);
    this.entries.set(vim.id, { monitor, revision: vim.revision, replacements: 0 });
    monitor.start(how.initialDelayMs);
  }

  private createMonitor(vimId: string, target: MonitorTarget, initial: { status: VimRecord['status']; since?: Date }): VimMonitor {
    return new VimMonitor(this.newMonitorId(), vimId, target, {
      probes: this.deps.probes,
      clock: this.deps.clock,
      logger: this.deps.logger,
      onStatusChange: (change) => this.deps.writes.push({ kind: 'status', change }),
      onPlacement: (id, regions) => this.placementSeen(id, regions),
      roundTickMs: this.options.roundTickMs,
      stats: this.roundStats,
    }, initial);
  }

  private placementSeen(vimId: string, regions: string[]): void {
    const known = this.lastPlacement.get(vimId);
    const sorted = [...regions].sort();
    if (known && known.join('\u0000') === sorted.join('\u0000')) return;
    this.lastPlacement.set(vimId, sorted);
    this.deps.writes.push({ kind: 'placement', vimId, placement: { regions: sorted } });
  }

  private readonly lastPlacement = new Map<string, string[]>();
  private readonly targets = new Map<string, MonitorTarget>();

  private targetOf(vim: VimRecord): MonitorTarget {
    const target: MonitorTarget = {
      tenantId: vim.tenantId,
      target: probeTargetOf(vim, this.deps.credentialsOf(vim)),
      settings: this.settingsOf(vim),
    };
    this.targets.set(vim.id, target);
    if (!this.lastPlacement.has(vim.id)) this.lastPlacement.set(vim.id, [...vim.placementAttr.regions].sort());
    return target;
  }

  private lastTargetOf(entry: Entry): MonitorTarget {
    const target = this.targets.get(entry.monitor.vimId);
    if (!target) throw new Error(`no known target for VIM ${entry.monitor.vimId}`);
    return target;
  }

  private settingsOf(vim: VimRecord): MonitorSettings {
    try {
      return effectiveSettings(this.options.defaults, vim.monitorSettings);
    } catch {
      // Stored settings that no longer fit the (changed) global defaults: watch with the defaults rather than not at all.
      return this.options.defaults;
    }
  }

  private assignment(vimId: string, monitorId: string, replacement: boolean) {
    return { kind: 'assign' as const, vimId, monitorId, owner: this.options.owner, at: tackerTimestamp(this.deps.clock.now()), replacement };
  }

  private present(entry: Entry): ManagedMonitor {
    return { ...entry.monitor.snapshot(), owner: this.options.owner, replacements: entry.replacements };
  }

  private scheduleSweep(): void {
    if (this.stopped) return;
    this.sweepTimer = setTimeout(() => {
      this.sweeping = this.sweep()
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'sweep failed'))
        .finally(() => {
          this.sweeping = undefined;
          this.scheduleSweep();
        });
    }, this.options.sweepIntervalSeconds * 1000);
    this.sweepTimer.unref?.();
  }
}
