import type { Condition, ConditionType, Health, HealthLayer } from '../health/condition.js';
import type { HoldKind, ProbeDetails } from '../monitors/status-change.js';
import type { VimStatus } from '../vims/model.js';

/** What a `vim.health.update` event says: the VIM's conditions after a change of them. */
export interface VimHealthUpdate {
  oldHealth: Health | null;
  newHealth: Health;
  failingLayer: HealthLayer | null;
  changed: ConditionType[];
  conditions: Condition[];
}

/**
 * A stored status change (kind 'status', Tacker's MONITOR event) or condition
 * change (kind 'health', `vim.health.update`) as every sink receives it: webhooks, AMQP
 * notifications, the SSE stream. `id` is stable (the row id in vim_events),
 * so a consumer can de-duplicate a redelivery.
 */
export interface VimEvent {
  id: number;
  vimId: string;
  /** The VIM's name when the change was stored (the VIM may be gone since). */
  vimName: string;
  tenantId: string;
  monitorId: string;
  /** Absent or 'status': a status change. */
  kind?: 'status' | 'health';
  /** For a health event, both are the VIM's status at the time (it did not move). */
  oldStatus: VimStatus;
  newStatus: VimStatus;
  reason: string;
  probes: ProbeDetails;
  /** Present on health events only. */
  health?: VimHealthUpdate;
  /** Tacker format, UTC: `YYYY-MM-DD hh:mm:ss.ffffff`. */
  timestamp: string;
  /** Set on an event stored while its VIM's notifications were held (maintenance window, flapping): sent only to subscriptions that ask. */
  heldBy?: HoldKind;
}

/** Somewhere events go. Throws when the event was not accepted (it will be retried). */
export interface EventSink {
  readonly name: string;
  deliver(event: VimEvent, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}
