import type { ProbeName } from '../probes/probe.js';
import type { VimStatus } from '../vims/model.js';

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
}
