import type { FastifyPluginAsync } from 'fastify';
import type { VimRegistry } from '../../vims/registry.js';
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
}

/** Tacker v1.0 `/vims` (the `.json` suffix is stripped before routing, see server.ts). */
export const vimRoutes: FastifyPluginAsync<VimRoutesOptions> = async (app, { registry }) => {
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
    return reply.code(201).send({ vim: presentVim(vim) });
  });

  app.get<{ Querystring: Record<string, string | string[]> }>('/v1.0/vims', { schema: { response: { 200: vimListResponse } } }, async (request) => {
    const { filter, fields } = parseListQuery(request.query);
    const vims = await registry.list(requestContext(request), filter);
    return { vims: vims.map((vim) => selectFields(presentVim(vim), fields)) };
  });

  app.get<{ Params: VimIdParams; Querystring: Record<string, string | string[]> }>(
    '/v1.0/vims/:id',
    { schema: { params: vimIdParams, response: { 200: vimShowResponse } } },
    async (request) => {
      const { fields } = parseListQuery(request.query);
      const vim = await registry.get(requestContext(request), request.params.id);
      return { vim: selectFields(presentVim(vim), fields) };
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
      return { vim: presentVim(vim) };
    },
  );

  app.delete<{ Params: VimIdParams }>('/v1.0/vims/:id', { schema: { params: vimIdParams } }, async (request, reply) => {
    const vim = await registry.delete(requestContext(request), request.params.id);
    request.log.info({ vim_id: vim.id }, 'VIM deleted');
    return reply.code(204).send();
  });
};
