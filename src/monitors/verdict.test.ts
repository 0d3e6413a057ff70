import { describe, expect, it } from 'vitest';
import { applyRound, type VerdictState } from './verdict.js';

const thresholds = { failure_threshold: 3, success_threshold: 2 };

function run(start: VerdictState, rounds: boolean[]): string[] {
  let state = start;
  return rounds.map((ok) => {
    state = applyRound(state, ok, thresholds);
    return state.status;
  });
}

const pending: VerdictState = { status: 'PENDING', consecutiveFailures: 0, consecutiveSuccesses: 0 };
const reachable: VerdictState = { status: 'REACHABLE', consecutiveFailures: 0, consecutiveSuccesses: 5 };
const unreachable: VerdictState = { status: 'UNREACHABLE', consecutiveFailures: 4, consecutiveSuccesses: 0 };

describe('the status verdict', () => {
  it('leaves PENDING on the very first round, whichever way it went', () => {
    expect(run(pending, [true])).toEqual(['REACHABLE']);
    expect(run(pending, [false])).toEqual(['UNREACHABLE']);
  });

  it('never flips on one failed round between good ones (a flapping packet)', () => {
    expect(run(reachable, [false, true, false, true, false, false, true])).toEqual(Array(7).fill('REACHABLE'));
  });

  it('becomes UNREACHABLE exactly at failure_threshold consecutive failed rounds', () => {
    expect(run(reachable, [false, false, false])).toEqual(['REACHABLE', 'REACHABLE', 'UNREACHABLE']);
  });

  it('comes back REACHABLE exactly at success_threshold consecutive good rounds', () => {
    expect(run(unreachable, [true, false, true, true])).toEqual(['UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE', 'REACHABLE']);
  });

  it('counts consecutive results and resets the other count', () => {
    const state = applyRound(applyRound(reachable, false, thresholds), false, thresholds);
    expect(state).toEqual({ status: 'REACHABLE', consecutiveFailures: 2, consecutiveSuccesses: 0 });
    expect(applyRound(state, true, thresholds)).toEqual({ status: 'REACHABLE', consecutiveFailures: 0, consecutiveSuccesses: 1 });
  });
});
