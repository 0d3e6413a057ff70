import type { Condition } from '../health/condition.js';
import type { ProbeName } from '../probes/probe.js';
import type { BackgroundErrorCounter } from '../time/background-errors.js';
import type { VimStatus } from '../vims/model.js';

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
  monitorsTakenOver(count: number): void;
  outbox(depth: number, oldestAgeSeconds: number): void;
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
  backgroundError: () => undefined,
};
