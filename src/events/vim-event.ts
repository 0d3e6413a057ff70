import type { ProbeDetails } from '../monitors/status-change.js';
import type { VimStatus } from '../vims/model.js';

/**
 * A stored status change as every sink receives it: webhooks, AMQP
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
  oldStatus: VimStatus;
  newStatus: VimStatus;
  reason: string;
  probes: ProbeDetails;
  /** Tacker format, UTC: `YYYY-MM-DD hh:mm:ss.ffffff`. */
  timestamp: string;
}

/** Somewhere events go. Throws when the event was not accepted (it will be retried). */
export interface EventSink {
  readonly name: string;
  deliver(event: VimEvent, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}
