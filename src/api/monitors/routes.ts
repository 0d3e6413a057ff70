import type { FastifyPluginAsync } from 'fastify';
import type { MonitorViewService } from '../../monitors/monitor-view.js';
import { requestContext } from '../request-context.js';
import { vimIdParams, type VimIdParams } from '../vims/schemas.js';
import { isolationAcknowledgeBody, isolationResponse, monitorListResponse, monitorShowResponse, type IsolationAcknowledgeBody } from './schemas.js';

export interface MonitorRoutesOptions {
  monitors: MonitorViewService;
}

/** `GET /v1.0/vims/{id}/monitor` and `GET /v1.0/monitors`: which monitor watches a VIM and what it last saw. */
export const monitorRoutes: FastifyPluginAsync<MonitorRoutesOptions> = async (app, { monitors }) => {
  app.get<{ Params: VimIdParams }>('/v1.0/vims/:id/monitor', { schema: { params: vimIdParams, response: { 200: monitorShowResponse } } }, async (request) => ({
    monitor: await monitors.get(requestContext(request), request.params.id),
  }));

  /** The monitoring of the process that answers: counts, punctuality of rounds, pending writes. */
  app.get('/v1.0/manager', async (request) => ({ manager: monitors.stats(requestContext(request)) }));

  /** This worker's isolation guard (issue 11): its state, and an administrator's acknowledgement of a genuine mass outage. */
  app.get('/v1.0/manager/isolation', { schema: { response: { 200: isolationResponse } } }, async (request) => ({ isolation: monitors.isolation(requestContext(request)) }));

  app.put<{ Body: IsolationAcknowledgeBody }>(
    '/v1.0/manager/isolation',
    { schema: { body: isolationAcknowledgeBody, response: { 200: isolationResponse } } },
    async (request) => {
      const isolation = monitors.acknowledgeIsolation(requestContext(request), request.body.isolation.acknowledged);
      request.log.warn({ acknowledged: request.body.isolation.acknowledged, state: isolation.state }, 'isolation acknowledgement changed');
      return { isolation };
    },
  );

  app.get('/v1.0/monitors', { schema: { response: { 200: monitorListResponse } } }, async (request) => ({ monitors: await monitors.list(requestContext(request)) }));
};
