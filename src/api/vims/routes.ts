import type { FastifyPluginAsync } from 'fastify';
import type { VimRegistry } from '../../vims/registry.js';
import type { MaintenanceCalendar } from '../../maintenance/calendar.js';
import type { VimRecord } from '../../vims/model.js';
import { requestContext } from '../request-context.js';
import { parseListQuery } from './list-query.js';
import { presentVim, selectFields } from './presenter.js';
import {
  createVimBody,
  updateVimBody,
  vimIdParams,
  vimListResponse,
  vimShowResponse,
  type CreateVimBody,
  type UpdateVimBody,
  type VimIdParams,
} from './schemas.js';

export interface VimRoutesOptions {
  registry: VimRegistry;
  /** Maintenance windows: each VIM shows the one it is in (`maintenance`), and the list filters on it. */
  calendar?: Pick<MaintenanceCalendar, 'stateOf'>;
}

/** Tacker v1.0 `/vims` (the `.json` suffix is stripped before routing, see server.ts). */
export const vimRoutes: FastifyPluginAsync<VimRoutesOptions> = async (app, { registry, calendar }) => {
  // The presenter's VIM plus the maintenance window it is in now (from this process's in-memory calendar: no query per VIM).
  const present = (vim: VimRecord) => (calendar ? { ...presentVim(vim), maintenance: calendar.stateOf(vim.id, vim.tenantId) } : presentVim(vim));

  app.post<{ Body: CreateVimBody }>('/v1.0/vims', { schema: { body: createVimBody, response: { 201: vimShowResponse } } }, async (request, reply) => {
    const body = request.body.vim;
    const vim = await registry.create(requestContext(request), {
      name: body.name,
      type: body.type,
      authUrl: body.auth_url,
      authCred: body.auth_cred,
      vimProject: body.vim_project,
      ...(body.tenant_id !== undefined && { tenantId: body.tenant_id }),
      ...(body.description !== undefined && { description: body.description }),
      ...(body.is_default !== undefined && { isDefault: body.is_default }),
      ...(body.extra !== undefined && { extra: body.extra }),
      ...(body.monitor_settings !== undefined && { monitorSettings: body.monitor_settings }),
    });
    request.log.info({ vim_id: vim.id, tenant_id: vim.tenantId, type: vim.type }, 'VIM registered');
    return reply.code(201).send({ vim: present(vim) });
  });

  app.get<{ Querystring: Record<string, string | string[]> }>('/v1.0/vims', { schema: { response: { 200: vimListResponse } } }, async (request) => {
    const { filter, fields, maintenance } = parseListQuery(request.query);
    const vims = (await registry.list(requestContext(request), filter)).map(present);
    const selected = maintenance === undefined ? vims : vims.filter((vim) => (vim.maintenance !== null && vim.maintenance !== undefined) === maintenance);
    return { vims: selected.map((vim) => selectFields(vim, fields)) };
  });

  app.get<{ Params: VimIdParams; Querystring: Record<string, string | string[]> }>(
    '/v1.0/vims/:id',
    { schema: { params: vimIdParams, response: { 200: vimShowResponse } } },
    async (request) => {
      const { fields } = parseListQuery(request.query);
      const vim = await registry.get(requestContext(request), request.params.id);
      return { vim: selectFields(present(vim), fields) };
    },
  );

  app.put<{ Params: VimIdParams; Body: UpdateVimBody }>(
    '/v1.0/vims/:id',
    { schema: { params: vimIdParams, body: updateVimBody, response: { 200: vimShowResponse } } },
    async (request) => {
      const body = request.body.vim;
      const vim = await registry.update(requestContext(request), request.params.id, {
        ...(body.name !== undefined && { name: body.name }),
        ...(body.description !== undefined && { description: body.description }),
        ...(body.is_default !== undefined && { isDefault: body.is_default }),
        ...(body.auth_cred !== undefined && { authCred: body.auth_cred }),
        ...(body.vim_project !== undefined && { vimProject: body.vim_project }),
        ...(body.extra !== undefined && { extra: body.extra }),
        ...(body.monitor_settings !== undefined && { monitorSettings: body.monitor_settings }),
      });
      request.log.info({ vim_id: vim.id }, 'VIM updated');
      return { vim: present(vim) };
    },
  );

  app.delete<{ Params: VimIdParams }>('/v1.0/vims/:id', { schema: { params: vimIdParams } }, async (request, reply) => {
    const vim = await registry.delete(requestContext(request), request.params.id);
    request.log.info({ vim_id: vim.id }, 'VIM deleted');
    return reply.code(204).send();
  });
};
