import type { ProbeName, ProbeTarget } from '../probes/probe.js';
import type { VimStatus } from '../vims/model.js';
import type { MonitorSettings } from './settings.js';

/** A verdict the thresholds reached that turns a VIM UNREACHABLE (from REACHABLE, or a first verdict from PENDING). */
export interface DownVerdict {
  vimId: string;
  monitorId: string;
  tenantId: string;
  target: ProbeTarget;
  /** The status it would leave. */
  from: VimStatus;
  /** Why the monitor found it down (the event reason it would get). */
  reason: string;
  /** When the round that reached it ended (epoch ms). */
  atMs: number;
  /** The VIM's effective monitor settings (timeout, its own `confirm` override). */
  settings?: MonitorSettings;
  /** The fast probes that failed in that round; empty when only a required deep check failed (the VIM answered). */
  failedProbes?: ProbeName[];
}

/**
 * What a gate says about a down verdict: `apply` turns the VIM UNREACHABLE
 * now (with `note` added to the event reason, e.g. who confirmed it);
 * `hold` keeps its status for this round (the failure counts keep growing,
 * so the next round asks again), with the reason shown in the monitor view.
 */
export type GateDecision =
  | {
      verdict: 'apply';
      note?: string;
      /** How many other workers confirmed the VIM down (a confirmed verdict passes even an isolated worker's guard). */
      confirmedBy?: number;
    }
  | { verdict: 'hold'; reason: string };

/**
 * Stands between the thresholds and a down verdict (issue 11: no false
 * alarms). A monitor asks on every round whose thresholds say UNREACHABLE
 * while its status is not yet; the answer must come at once (a gate that
 * needs other workers or time starts that work in the background and answers
 * `hold` until it has its answer). Going back to REACHABLE is never gated:
 * a VIM seen up is up.
 */
export interface VerdictGate {
  review(verdict: DownVerdict): GateDecision;
  /** The VIM recovered, was deleted or changed monitor: drop whatever the gate keeps for it. */
  settled?(vimId: string): void;
}

/** No gate: every verdict applies (one worker, no guard configured). */
export const OPEN_GATE: VerdictGate = { review: () => ({ verdict: 'apply' }) };
