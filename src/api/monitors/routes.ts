import type { FastifyPluginAsync } from 'fastify';
import type { MonitorManager } from '../../monitors/manager.js';
import type { MonitorRepository, MonitorRow } from '../../store/monitor-repository.js';
import type { VimRegistry } from '../../vims/registry.js';
import { ForbiddenError, VimNotFoundError } from '../../errors.js';
import { requestContext } from '../request-context.js';
import { vimIdParams } from '../vims/schemas.js';

export interface MonitorRoutesOptions {
  registry: VimRegistry;
  monitors: MonitorRepository;
  /** Absent in a process that runs no monitors (manager.enabled: false): rows only, no live detail. */
  manager?: MonitorManager;
}

/** A monitor this process does not run: what the database knows of it. */
function presentRow(row: MonitorRow): Record<string, unknown> {
  return {
    monitor_id: row.monitor_id,
    vim_id: row.vim_id,
    owner: row.owner,
    dispatched_at: row.dispatched_at,
    replacements: Number(row.replacements),
    state: 'remote',
  };
}

/** `GET /v1.0/vims/{id}/monitor` and `GET /v1.0/monitors`: which monitor watches a VIM and what it last saw. */
export const monitorRoutes: FastifyPluginAsync<MonitorRoutesOptions> = async (app, { registry, monitors, manager }) => {
  app.get<{ Params: { id: string } }>('/v1.0/vims/:id/monitor', { schema: { params: vimIdParams } }, async (request) => {
    const vim = await registry.get(requestContext(request), request.params.id);
    const live = manager?.monitorOf(vim.id);
    if (live) return { monitor: live };
    const row = await monitors.find(vim.id);
    if (!row) throw new VimNotFoundError(`${vim.id} monitor`);
    return { monitor: presentRow(row) };
  });

  /** The monitoring of the process that answers: counts, punctuality of rounds, pending writes. */
  app.get('/v1.0/manager', async (request) => {
    if (!requestContext(request).isAdmin) throw new ForbiddenError('Only an administrator may read the manager statistics');
    return { manager: manager ? manager.stats() : { enabled: false } };
  });

  app.get('/v1.0/monitors', async (request) => {
    const visible = new Set((await registry.list(requestContext(request), {})).map((vim) => vim.id));
    const live = new Map((manager?.list() ?? []).map((monitor) => [monitor.vim_id, monitor]));
    const rows = await monitors.list();
    return {
      monitors: rows
        .filter((row) => visible.has(row.vim_id))
        .map((row) => live.get(row.vim_id) ?? presentRow(row)),
    };
  });
};
