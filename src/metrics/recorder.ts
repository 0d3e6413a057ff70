import type { Condition } from '../health/condition.js';
import type { ProbeName } from '../probes/probe.js';
import type { BackgroundErrorCounter } from '../time/background-errors.js';
import type { VimStatus } from '../vims/model.js';

/**
 * How a deep run (one VIM's deep checks, src/monitors/deep-runs.ts) ended:
 * every check settled, the run's deadline cut at least one, or the run
 * rejected (a bug in a check).
 */
export const DEEP_RUN_OUTCOMES = ['completed', 'timed_out', 'failed'] as const;
export type DeepRunOutcome = (typeof DEEP_RUN_OUTCOMES)[number];

/**
 * What the monitoring reports for metrics. Monitors and the manager call
 * these; the Prometheus implementation lives in metrics/prometheus.ts, and
 * NO_METRICS keeps tests and tools free of a registry. No method takes an
 * unbounded label value (reasons, URLs): only ids, fixed names and numbers.
 */
export interface MetricsRecorder extends BackgroundErrorCounter {
  probeChecked(vimId: string, probe: ProbeName, ok: boolean, latencyMs: number | undefined): void;
  statusChanged(vimId: string, status: VimStatus): void;
  /** A VIM's conditions after a change: one series per condition type (a bounded set), no reasons. */
  conditionsChanged(vimId: string, conditions: readonly Condition[]): void;
  vimForgotten(vimId: string): void;
  monitorsOwned(count: number): void;
  monitorReplaced(): void;
  /** A sweep found more monitors stuck than manager.failover_threshold and replaced none (with how many were stuck). */
  replacementsWithheld?(stuck: number): void;
  monitorsTakenOver(count: number): void;
  outbox(depth: number, oldestAgeSeconds: number): void;
  /** One deep run ended, after `seconds` (start to settle). Per process, never per VIM. Optional: recorders that do not count deep runs leave it out. */
  deepRunFinished?(outcome: DeepRunOutcome, seconds: number): void;
  /** VIMs of this process whose notifications are held now (issue 11), per process, never per VIM. Optional like deepRunFinished. */
  vimsHeld?(counts: { maintenance: number; flapping: number }): void;
}

export const NO_METRICS: MetricsRecorder = {
  probeChecked: () => undefined,
  statusChanged: () => undefined,
  conditionsChanged: () => undefined,
  vimForgotten: () => undefined,
  monitorsOwned: () => undefined,
  monitorReplaced: () => undefined,
  monitorsTakenOver: () => undefined,
  outbox: () => undefined,
  deepRunFinished: () => undefined,
  vimsHeld: () => undefined,
  backgroundError: () => undefined,
};
