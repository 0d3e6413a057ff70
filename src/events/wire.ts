import type { ProbeDetails } from '../monitors/status-change.js';
import type { EventRow } from '../store/event-repository.js';
import type { VimStatus } from '../vims/model.js';
import type { VimEvent } from './vim-event.js';

/** A stored row as the event every sink and the API work with. */
export function toVimEvent(row: EventRow): VimEvent {
  let probes: ProbeDetails = {};
  try {
    const detail = JSON.parse(row.detail) as { probes?: ProbeDetails };
    probes = detail.probes ?? {};
  } catch {
    probes = {};
  }
  return {
    id: Number(row.id),
    vimId: row.vim_id,
    vimName: row.vim_name,
    tenantId: row.tenant_id,
    monitorId: row.monitor_id,
    oldStatus: row.old_status as VimStatus,
    newStatus: row.new_status as VimStatus,
    reason: row.reason,
    probes,
    timestamp: row.created_at,
  };
}

/**
 * The one JSON shape of an event, wherever it is read: the events API, the
 * SSE stream and webhook bodies. Tacker's event fields (resource_id,
 * resource_type, resource_state, event_type, timestamp) plus the detail.
 */
export function eventToWire(event: VimEvent): Record<string, unknown> {
  return {
    id: event.id,
    resource_id: event.vimId,
    resource_name: event.vimName,
    resource_type: 'vim',
    resource_state: event.newStatus,
    event_type: 'MONITOR',
    timestamp: event.timestamp,
    tenant_id: event.tenantId,
    event_details: {
      old_status: event.oldStatus,
      new_status: event.newStatus,
      reason: event.reason,
      monitor_id: event.monitorId,
      probes: event.probes,
    },
  };
}
