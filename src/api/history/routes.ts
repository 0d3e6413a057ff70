import type { FastifyPluginAsync } from 'fastify';
import { InvalidInputError } from '../../errors.js';
import type { HistoryReader } from '../../history/history-reader.js';
import type { MaintenanceCalendar } from '../../maintenance/calendar.js';
import type { VimRegistry } from '../../vims/registry.js';
import { requestContext } from '../request-context.js';
import { vimIdParams, type VimIdParams } from '../vims/schemas.js';
import { presentHistory, presentUptime } from './presenter.js';
import { parseHistoryQuery, parseUptimeListQuery, parseUptimeQuery, type RawQuery } from './query.js';
import { historyResponse, uptimeListResponse, uptimeResponse } from './schemas.js';

export interface HistoryRoutesOptions {
  reader: HistoryReader;
  /** The VIM list (GET /v1.0/uptime pages through it with its filters and visibility). */
  registry: Pick<VimRegistry, 'list'>;
  /** For the list's `?maintenance=true|false` filter, as on GET /v1.0/vims. */
  calendar?: Pick<MaintenanceCalendar, 'stateOf'>;
}

/** Status history and uptime (issue 12); a VIM the caller cannot see is not found, as on GET /v1.0/vims/{id}. */
export const historyRoutes: FastifyPluginAsync<HistoryRoutesOptions> = async (app, { reader, registry, calendar }) => {
  app.get<{ Params: VimIdParams; Querystring: RawQuery }>(
    '/v1.0/vims/:id/history',
    { schema: { params: vimIdParams, response: { 200: historyResponse } } },
    async (request) => {
      const query = parseHistoryQuery(request.query);
      return { history: presentHistory(await reader.history(requestContext(request), request.params.id, query)) };
    },
  );

  app.get<{ Params: VimIdParams; Querystring: RawQuery }>(
    '/v1.0/vims/:id/uptime',
    { schema: { params: vimIdParams, response: { 200: uptimeResponse } } },
    async (request) => {
      const { window, excludeMaintenance } = parseUptimeQuery(request.query);
      return { uptime: presentUptime(await reader.uptime(requestContext(request), request.params.id, window, excludeMaintenance)) };
    },
  );

  app.get<{ Querystring: RawQuery }>('/v1.0/uptime', { schema: { response: { 200: uptimeListResponse } } }, async (request) => {
    const { window, excludeMaintenance, list, limit, marker } = parseUptimeListQuery(request.query);
    let vims = await registry.list(requestContext(request), list.filter);
    if (list.maintenance !== undefined) {
      if (!calendar) throw new InvalidInputError('maintenance= is not available: this service has no maintenance windows');
      vims = vims.filter((vim) => (calendar.stateOf(vim.id, vim.tenantId) !== null) === list.maintenance);
    }
    let start = 0;
    if (marker !== undefined) {
      const index = vims.findIndex((vim) => vim.id === marker);
      // As Nova says it: a marker the caller cannot see (or that the filters leave out) is not found.
      if (index < 0) throw new InvalidInputError(`marker [${marker}] not found`);
      start = index + 1;
    }
    const page = vims.slice(start, start + limit);
    return { uptimes: (await reader.uptimes(page, window, excludeMaintenance)).map(presentUptime) };
  });
};
