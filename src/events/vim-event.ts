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

/** What an ISOLATION event says: a worker entered isolation or left it (issue 11, src/guard). */
export interface WorkerIsolationUpdate {
  /** The worker's name (manager.worker_name). */
  worker: string;
  oldState: string;
  /** ISOLATED or NORMAL. */
  newState: string;
  /** What tripped it (entering only): `canaries` or `failing_share`. */
  cause: string | null;
  /** The failing VIMs, the VIMs checked in the window, and their share, when it was decided. */
  failing: number;
  recent: number;
  share: number;
  /** Each canary's latest result, by label. */
  canaries: Array<{ canary: string; ok: boolean | null }>;
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
  /** Absent or 'status': a status change. 'isolation': a worker's, not a VIM's (vimId, vimName, monitorId mean nothing then). */
  kind?: 'status' | 'health' | 'isolation';
  /** For a health event, both are the VIM's status at the time (it did not move). */
  oldStatus: VimStatus;
  newStatus: VimStatus;
  reason: string;
  probes: ProbeDetails;
  /** Present on health events only. */
  health?: VimHealthUpdate;
  /** Present on isolation events only. */
  isolation?: WorkerIsolationUpdate;
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
