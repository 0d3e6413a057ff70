import type { HoldKind, ProbeDetails } from '../monitors/status-change.js';
import type { EventRow } from '../store/event-repository.js';
import type { VimStatus } from '../vims/model.js';
import type { VimEvent, VimHealthUpdate, WorkerIsolationUpdate } from './vim-event.js';

/** vim_events.event_type of a status change (Tacker's), of a condition change, and of a worker's isolation (issue 11). */
export const STATUS_EVENT_TYPE = 'MONITOR';
export const HEALTH_EVENT_TYPE = 'HEALTH';
export const ISOLATION_EVENT_TYPE = 'ISOLATION';
export const EVENT_TYPES = [STATUS_EVENT_TYPE, HEALTH_EVENT_TYPE, ISOLATION_EVENT_TYPE] as const;
/** The events about VIMs (resource_type vim): what an event listing shows unless it asks for ISOLATION by name. */
export const VIM_EVENT_TYPES = [STATUS_EVENT_TYPE, HEALTH_EVENT_TYPE] as const;

interface StoredDetail {
  probes?: ProbeDetails;
  old_health?: VimHealthUpdate['oldHealth'];
  new_health?: VimHealthUpdate['newHealth'];
  failing_layer?: VimHealthUpdate['failingLayer'];
  changed?: VimHealthUpdate['changed'];
  conditions?: VimHealthUpdate['conditions'];
  isolation?: Omit<WorkerIsolationUpdate, 'worker'>;
}

/** A stored row as the event every sink and the API work with. */
export function toVimEvent(row: EventRow): VimEvent {
  let detail: StoredDetail = {};
  try {
    detail = JSON.parse(row.detail) as StoredDetail;
  } catch {
    detail = {};
  }
  const base = {
    id: Number(row.id),
    vimId: row.vim_id,
    vimName: row.vim_name,
    tenantId: row.tenant_id,
    monitorId: row.monitor_id,
    oldStatus: row.old_status as VimStatus,
    newStatus: row.new_status as VimStatus,
    reason: row.reason,
    probes: detail.probes ?? {},
    timestamp: row.created_at,
    ...(row.held_by && { heldBy: row.held_by as HoldKind }),
  };
  if (row.event_type === ISOLATION_EVENT_TYPE) {
    // A worker's event: the worker's name is kept where a VIM's name goes (vim_id holds a digest of it: the column is an id's width).
    const isolation = detail.isolation ?? { oldState: row.old_status, newState: row.new_status, cause: null, failing: 0, recent: 0, share: 0, canaries: [] };
    return { ...base, kind: 'isolation', isolation: { ...isolation, worker: row.vim_name } };
  }
  if (row.event_type !== HEALTH_EVENT_TYPE) return { ...base, kind: 'status' };
  return {
    ...base,
    kind: 'health',
    health: {
      oldHealth: detail.old_health ?? null,
      newHealth: detail.new_health ?? 'OK',
      failingLayer: detail.failing_layer ?? null,
      changed: detail.changed ?? [],
      conditions: detail.conditions ?? [],
    },
  };
}

/**
 * The one JSON shape of an event, wherever it is read: the events API, the
 * SSE stream and webhook bodies. Tacker's event fields (resource_id,
 * resource_type, resource_state, event_type, timestamp) plus the detail.
 * A status change is Tacker's MONITOR event, unchanged; a condition change
 * is event_type HEALTH, its resource_state the VIM's (unchanged) status.
 */
export function eventToWire(event: VimEvent): Record<string, unknown> {
  if (event.kind === 'isolation' && event.isolation) return isolationToWire(event, event.isolation);
  const common = {
    id: event.id,
    resource_id: event.vimId,
    resource_name: event.vimName,
    resource_type: 'vim',
    resource_state: event.newStatus,
    event_type: event.kind === 'health' ? HEALTH_EVENT_TYPE : STATUS_EVENT_TYPE,
    timestamp: event.timestamp,
    tenant_id: event.tenantId,
    // Only on held events, so that what receivers always got keeps its exact shape.
    ...(event.heldBy && { held_by: event.heldBy }),
  };
  if (event.kind === 'health' && event.health) {
    return {
      ...common,
      event_details: {
        old_health: event.health.oldHealth,
        new_health: event.health.newHealth,
        failing_layer: event.health.failingLayer,
        changed: event.health.changed,
        reason: event.reason,
        monitor_id: event.monitorId,
        conditions: event.health.conditions,
      },
    };
  }
  return {
    ...common,
    event_details: {
      old_status: event.oldStatus,
      new_status: event.newStatus,
      reason: event.reason,
      monitor_id: event.monitorId,
      probes: event.probes,
    },
  };
}

/**
 * A worker's isolation (event_type ISOLATION, resource_type worker): entered
 * (resource_state ISOLATED) or left for good (NORMAL, once recovery_grace is
 * over). Only administrators see it (it belongs to no tenant).
 */
function isolationToWire(event: VimEvent, isolation: WorkerIsolationUpdate): Record<string, unknown> {
  return {
    id: event.id,
    resource_id: isolation.worker,
    resource_name: isolation.worker,
    resource_type: 'worker',
    resource_state: isolation.newState,
    event_type: ISOLATION_EVENT_TYPE,
    timestamp: event.timestamp,
    tenant_id: event.tenantId,
    event_details: {
      old_state: isolation.oldState,
      new_state: isolation.newState,
      reason: event.reason,
      cause: isolation.cause,
      failing: isolation.failing,
      recent: isolation.recent,
      share: isolation.share,
      canaries: isolation.canaries,
    },
  };
}
