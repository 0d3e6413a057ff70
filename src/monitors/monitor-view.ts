import { requireAdmin } from '../auth/visibility.js';
import { NotFoundError, NotIsolatedError, VimNotFoundError } from '../errors.js';
import type { IsolationGuard, IsolationView } from '../guard/isolation-guard.js';
import type { MonitorRepository, MonitorRow } from '../store/monitor-repository.js';
import type { RequestContext, VimRecord } from '../vims/model.js';
import type { VimRegistry } from '../vims/registry.js';
import type { ManagedMonitor, MonitorManager } from './manager.js';
import type { MaintenanceCalendar, MaintenanceState } from '../maintenance/calendar.js';
import type { FlapState } from '../maintenance/flap-damper.js';
import { tackerTimestamp } from '../time/clock.js';

/** A monitor this process does not run: what the database knows of it. */
export interface RemoteMonitor {
  monitor_id: string;
  vim_id: string;
  owner: string;
  dispatched_at: string;
  replacements: number;
  state: 'remote';
  /** As the VIM's monitor last stored them (the owner's live view may be a round newer). */
  conditions: VimRecord['conditions'];
  health: VimRecord['health'];
  capacity: VimRecord['capacity'];
}

/** Issue 11's notification hold, as the monitor view shows it. */
export interface HoldView {
  /** The maintenance window the VIM is in now, or null. */
  maintenance?: MaintenanceState | null;
  /** Live monitors only: set while the VIM flaps (its notifications are damped), or null. */
  flapping?: { since: string; changes: number } | null;
}

/** A monitor this process runs, with its worker's isolation state (issue 11) when the guard is on. */
export type LiveMonitor = ManagedMonitor & { isolation?: IsolationView['state'] };

export type MonitorView = (LiveMonitor | RemoteMonitor) & HoldView;

export type ManagerStats = (ReturnType<MonitorManager['stats']> & { isolation: IsolationView | null }) | { enabled: false };

/**
 * Which monitor watches a VIM and what it last saw, for the callers who may
 * see that VIM (the registry decides who sees which VIM). Live detail comes
 * from this process's manager; monitors run elsewhere are shown from their row.
 */
export class MonitorViewService {
  constructor(
    private readonly deps: {
      registry: VimRegistry;
      monitors: MonitorRepository;
      /** Absent in a process that runs no monitors (manager.enabled: false): rows only, no live detail. */
      manager?: Pick<MonitorManager, 'monitorOf' | 'list' | 'stats'>;
      /** Maintenance windows: every view says whether its VIM is in one. */
      calendar?: Pick<MaintenanceCalendar, 'stateOf'>;
      /** Flap damping of this process's monitors. */
      hold?: { flappingOf(vimId: string): FlapState | undefined };
      /** This worker's isolation guard (guard.enabled); absent: no isolation state is shown. */
      guard?: Pick<IsolationGuard, 'state' | 'acknowledge'>;
    },
  ) {}

  async get(ctx: RequestContext, vimId: string): Promise<MonitorView> {
    const vim = await this.deps.registry.get(ctx, vimId);
    const live = this.deps.manager?.monitorOf(vim.id);
    if (live) return this.withHold(this.withIsolation(live, this.deps.guard?.state().state), vim);
    const row = await this.deps.monitors.find(vim.id);
    if (!row) throw new VimNotFoundError(`${vim.id} monitor`);
    return this.withHold(remote(row, vim), vim);
  }

  async list(ctx: RequestContext): Promise<MonitorView[]> {
    const visible = new Map((await this.deps.registry.list(ctx, {})).map((vim) => [vim.id, vim]));
    const isolation = this.deps.guard?.state().state;
    const live = new Map((this.deps.manager?.list() ?? []).map((monitor) => [monitor.vim_id, this.withIsolation(monitor, isolation)]));
    const rows = await this.deps.monitors.list();
    return rows
      .filter((row) => visible.has(row.vim_id))
      .map((row) => {
        const vim = visible.get(row.vim_id)!;
        return this.withHold(live.get(row.vim_id) ?? remote(row, vim), vim);
      });
  }

  private withHold(view: LiveMonitor | RemoteMonitor, vim: VimRecord): MonitorView {
    if (!this.deps.calendar) return view;
    const maintenance = this.deps.calendar.stateOf(vim.id, vim.tenantId);
    if (view.state === 'remote') return { ...view, maintenance };
    const flap = this.deps.hold?.flappingOf(vim.id);
    return { ...view, maintenance, flapping: flap ? { since: tackerTimestamp(new Date(flap.sinceMs)), changes: flap.changes } : null };
  }

  /** The monitoring of this process: counts, punctuality of rounds, pending writes. Administrators only. */
  stats(ctx: RequestContext): ManagerStats {
    requireAdmin(ctx, 'read the manager statistics');
    return this.deps.manager ? { ...this.deps.manager.stats(), isolation: this.deps.guard?.state() ?? null } : { enabled: false };
  }

  /** This worker's isolation guard. Administrators only; 404 where no guard runs (guard.enabled false, or no monitors here). */
  isolation(ctx: RequestContext): IsolationView {
    requireAdmin(ctx, 'read the isolation state');
    return this.guard().state();
  }

  /**
   * An administrator acknowledges this worker's isolation (a genuine mass
   * outage: down verdicts apply again until the episode ends), or withdraws
   * the acknowledgement. Only the worker that answers: each worker has its own guard.
   */
  acknowledgeIsolation(ctx: RequestContext, acknowledged: boolean): IsolationView {
    requireAdmin(ctx, 'acknowledge an isolation');
    const guard = this.guard();
    if (!guard.acknowledge(acknowledged)) throw new NotIsolatedError(`This worker is not isolated (state ${guard.state().state}): there is nothing to acknowledge`);
    return guard.state();
  }

  private guard(): Pick<IsolationGuard, 'state' | 'acknowledge'> {
    if (!this.deps.guard) throw new NotFoundError('isolation guard of this worker');
    return this.deps.guard;
  }

  private withIsolation(monitor: ManagedMonitor, isolation: IsolationView['state'] | undefined): LiveMonitor {
    return isolation === undefined ? monitor : { ...monitor, isolation };
  }
}

function remote(row: MonitorRow, vim: VimRecord): RemoteMonitor {
  return {
    monitor_id: row.monitor_id,
    vim_id: row.vim_id,
    owner: row.owner,
    dispatched_at: row.dispatched_at,
    replacements: Number(row.replacements),
    state: 'remote',
    conditions: vim.conditions,
    health: vim.health,
    capacity: vim.capacity,
  };
}
