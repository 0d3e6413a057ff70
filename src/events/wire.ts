import type { HoldKind, ProbeDetails } from '../monitors/status-change.js';
import type { EventRow } from '../store/event-repository.js';
import type { VimStatus } from '../vims/model.js';
import type { VimEvent, VimHealthUpdate } from './vim-event.js';

/** vim_events.event_type of a status change (Tacker's) and of a condition change. */
export const STATUS_EVENT_TYPE = 'MONITOR';
export const HEALTH_EVENT_TYPE = 'HEALTH';
export const EVENT_TYPES = [STATUS_EVENT_TYPE, HEALTH_EVENT_TYPE] as const;

interface StoredDetail {
  probes?: ProbeDetails;
  old_health?: VimHealthUpdate['oldHealth'];
  new_health?: VimHealthUpdate['newHealth'];
  failing_layer?: VimHealthUpdate['failingLayer'];
  changed?: VimHealthUpdate['changed'];
  conditions?: VimHealthUpdate['conditions'];
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
