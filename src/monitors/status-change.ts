import type { Condition, ConditionType, Health, HealthLayer } from '../health/condition.js';
import type { ProbeName } from '../probes/probe.js';
import type { VimStatus } from '../vims/model.js';

/**
 * Why a change is stored without being sent to webhooks and AMQP (issue 11):
 * its VIM is in a maintenance window, or flapping. The change is kept in the
 * history with this flag; receivers get one catch-up event when the hold ends.
 */
export type HoldKind = 'maintenance' | 'flapping';

/** What a monitor last saw from one probe. */
export interface ProbeDetail {
  ok: boolean;
  latency_ms: number | null;
  reason: string;
  checked_at: string;
  consecutive_failures: number;
  consecutive_successes: number;
}

export type ProbeDetails = Partial<Record<ProbeName, ProbeDetail>>;

/** A verdict that differs from the previous one: stored with its event in one transaction. */
export interface StatusChange {
  vimId: string;
  vimName: string;
  tenantId: string;
  /** The writer's monitor: a write from a replaced monitor is refused (fencing). */
  monitorId: string;
  oldStatus: VimStatus;
  newStatus: VimStatus;
  reason: string;
  probes: ProbeDetails;
  /** Tacker-format timestamp of the round that decided it. */
  at: string;
  /** The round's conditions, stored with the status; `changed` empty when only the status moved. */
  health?: HealthChange;
  /** Set while the VIM's notifications are held: stored and shown, not sent. */
  heldBy?: HoldKind;
}

/**
 * The VIM's conditions after a round whose conditions changed (a condition
 * appeared, went away, or changed status or severity): stored on the VIM
 * with a `vim.health.update` event. With a status change it travels in the
 * StatusChange and is stored in the same transaction.
 */
export interface HealthChange {
  vimId: string;
  vimName: string;
  tenantId: string;
  monitorId: string;
  /** The VIM's status after the round (unchanged unless this travels with a StatusChange). */
  status: VimStatus;
  oldHealth: Health | null;
  newHealth: Health;
  /** The first failing layer (network → … → capacity), null when none fails. */
  failingLayer: HealthLayer | null;
  reason: string;
  conditions: Condition[];
  /** Types whose status or severity changed, appeared or went away. */
  changed: ConditionType[];
  at: string;
  /** Set while the VIM's notifications are held: stored and shown, not sent. */
  heldBy?: HoldKind;
}
