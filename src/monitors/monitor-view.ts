import { requireAdmin } from '../auth/visibility.js';
import { VimNotFoundError } from '../errors.js';
import type { MonitorRepository, MonitorRow } from '../store/monitor-repository.js';
import type { RequestContext, VimRecord } from '../vims/model.js';
import type { VimRegistry } from '../vims/registry.js';
import type { ManagedMonitor, MonitorManager } from './manager.js';

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

export type MonitorView = ManagedMonitor | RemoteMonitor;

export type ManagerStats = ReturnType<MonitorManager['stats']> | { enabled: false };

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
    },
  ) {}

  async get(ctx: RequestContext, vimId: string): Promise<MonitorView> {
    const vim = await this.deps.registry.get(ctx, vimId);
    const live = this.deps.manager?.monitorOf(vim.id);
    if (live) return live;
    const row = await this.deps.monitors.find(vim.id);
    if (!row) throw new VimNotFoundError(`${vim.id} monitor`);
    return remote(row, vim);
  }

  async list(ctx: RequestContext): Promise<MonitorView[]> {
    const visible = new Map((await this.deps.registry.list(ctx, {})).map((vim) => [vim.id, vim]));
    const live = new Map((this.deps.manager?.list() ?? []).map((monitor) => [monitor.vim_id, monitor]));
    const rows = await this.deps.monitors.list();
    return rows.filter((row) => visible.has(row.vim_id)).map((row) => live.get(row.vim_id) ?? remote(row, visible.get(row.vim_id)!));
  }

  /** The monitoring of this process: counts, punctuality of rounds, pending writes. Administrators only. */
  stats(ctx: RequestContext): ManagerStats {
    requireAdmin(ctx, 'read the manager statistics');
    return this.deps.manager ? this.deps.manager.stats() : { enabled: false };
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
