import type { VimStatus } from '../vims/model.js';

export interface VerdictState {
  status: VimStatus;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

export interface Thresholds {
  failure_threshold: number;
  success_threshold: number;
}

/**
 * The status decision, as a pure function so that hysteresis is tested
 * without clocks or sockets. A VIM leaves PENDING on its first round;
 * afterwards it needs `failure_threshold` failed rounds in a row to become
 * UNREACHABLE and `success_threshold` good rounds in a row to come back, so a
 * single lost packet never flips it.
 */
export function applyRound(state: VerdictState, roundOk: boolean, thresholds: Thresholds): VerdictState {
  const consecutiveFailures = roundOk ? 0 : state.consecutiveFailures + 1;
  const consecutiveSuccesses = roundOk ? state.consecutiveSuccesses + 1 : 0;
  let status = state.status;
  if (status === 'PENDING') status = roundOk ? 'REACHABLE' : 'UNREACHABLE';
  else if (status === 'REACHABLE' && consecutiveFailures >= thresholds.failure_threshold) status = 'UNREACHABLE';
  else if (status === 'UNREACHABLE' && consecutiveSuccesses >= thresholds.success_threshold) status = 'REACHABLE';
  return { status, consecutiveFailures, consecutiveSuccesses };
}
