import type { FastifyPluginAsync } from 'fastify';
import { occurrenceAt, formatTimeOfDay } from '../../maintenance/schedule.js';
import type { MaintenanceService } from '../../maintenance/service.js';
import type { MaintenanceWindow } from '../../maintenance/window.js';
import { tackerTimestamp, type Clock } from '../../time/clock.js';
import { parseUtcTimestamp } from '../input-guards.js';
import { requestContext } from '../request-context.js';
import {
  createMaintenanceBody,
  maintenanceIdParams,
  maintenanceListResponse,
  maintenanceShowResponse,
  type CreateMaintenanceBody,
  type MaintenanceIdParams,
} from './schemas.js';

export interface MaintenanceRoutesOptions {
  maintenances: MaintenanceService;
  clock: Clock;
}

const at = (ms: number): string => tackerTimestamp(new Date(ms));
const epochOf = (value: string, name: string): number => Date.parse(`${parseUtcTimestamp(value, name).replace(' ', 'T')}Z`);

/** A window as clients see it, with whether it is open now. */
function present(window: MaintenanceWindow, nowMs: number): Record<string, unknown> {
  const { scope, schedule } = window;
  const open = occurrenceAt(schedule, nowMs);
  return {
    id: window.id,
    tenant_id: window.tenantId,
    reason: window.reason,
    scope: scope.kind === 'vims' ? { vim_ids: scope.vimIds } : scope.kind === 'tenant' ? { tenant_id: scope.tenantId } : { all: true },
    start: schedule.kind === 'once' ? at(schedule.startMs) : null,
    end: schedule.kind === 'once' && schedule.endMs !== null ? at(schedule.endMs) : null,
    recurrence:
      schedule.kind === 'weekly'
        ? { days: schedule.days, start_time: formatTimeOfDay(schedule.startMinute), duration: schedule.durationMinutes, time_zone: schedule.timeZone }
        : null,
    created_at: window.createdAt,
    open_now: open ? { since: at(open.startMs), until: open.endMs === null ? null : at(open.endMs) } : null,
  };
}

/** `/v1.0/maintenances`: maintenance windows, during which VIMs are watched but their changes are not notified. */
export const maintenanceRoutes: FastifyPluginAsync<MaintenanceRoutesOptions> = async (app, { maintenances, clock }) => {
  const now = () => clock.now().getTime();

  app.post<{ Body: CreateMaintenanceBody }>('/v1.0/maintenances', { schema: { body: createMaintenanceBody, response: { 201: maintenanceShowResponse } } }, async (request, reply) => {
    const body = request.body.maintenance;
    const window = await maintenances.create(requestContext(request), {
      reason: body.reason,
      scope: {
        ...(body.scope.vim_ids !== undefined && { vimIds: body.scope.vim_ids }),
        ...(body.scope.tenant_id !== undefined && { tenantId: body.scope.tenant_id }),
        ...(body.scope.all !== undefined && { all: body.scope.all }),
      },
      ...(body.start !== undefined && { startMs: epochOf(body.start, 'maintenance.start') }),
      ...(body.end !== undefined && { endMs: body.end === null ? null : epochOf(body.end, 'maintenance.end') }),
      ...(body.recurrence && {
        recurrence: {
          days: body.recurrence.days,
          startTime: body.recurrence.start_time,
          durationMinutes: body.recurrence.duration,
          timeZone: body.recurrence.time_zone,
        },
      }),
    });
    request.log.info({ maintenance_id: window.id, tenant_id: window.tenantId, scope: window.scope.kind }, 'maintenance window created');
    return reply.code(201).send({ maintenance: present(window, now()) });
  });

  app.get('/v1.0/maintenances', { schema: { response: { 200: maintenanceListResponse } } }, async (request) => ({
    maintenances: (await maintenances.list(requestContext(request))).map((window) => present(window, now())),
  }));

  app.get<{ Params: MaintenanceIdParams }>('/v1.0/maintenances/:id', { schema: { params: maintenanceIdParams, response: { 200: maintenanceShowResponse } } }, async (request) => ({
    maintenance: present(await maintenances.get(requestContext(request), request.params.id), now()),
  }));

  app.delete<{ Params: MaintenanceIdParams }>('/v1.0/maintenances/:id', { schema: { params: maintenanceIdParams } }, async (request, reply) => {
    await maintenances.delete(requestContext(request), request.params.id);
    request.log.info({ maintenance_id: request.params.id }, 'maintenance window deleted');
    return reply.code(204).send();
  });
};
