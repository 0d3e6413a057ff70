import { describe, expect, it } from 'vitest';
import { probeTarget } from '../../test/support/probe-target.js';
import { combineGates } from './combined-gate.js';
import type { DownVerdict, GateDecision, VerdictGate } from './verdict-gate.js';

const verdict: DownVerdict = { vimId: 'v', monitorId: 'm', tenantId: 't', target: probeTarget('openstack', 'http://127.0.0.1:9/v3'), from: 'REACHABLE', reason: 'failed', atMs: 0 };

function gate(decision: GateDecision): VerdictGate & { reviews: number; settledVims: string[] } {
  return {
    reviews: 0,
    settledVims: [],
    review() {
      this.reviews += 1;
      return decision;
    },
    settled(vimId: string) {
      this.settledVims.push(vimId);
    },
  };
}

const isolated: GateDecision = { verdict: 'hold', reason: 'worker isolated' };

describe('combineGates', () => {
  it('lets a verdict other workers confirmed through an isolated worker', () => {
    const confirmed: GateDecision = { verdict: 'apply', note: 'confirmed by 2 of 2 workers', confirmedBy: 2 };
    expect(combineGates(gate(confirmed), gate(isolated))!.review(verdict)).toEqual(confirmed);
  });

  it('holds a verdict the owner decided alone while the worker is isolated', () => {
    expect(combineGates(gate({ verdict: 'apply', note: 'decided alone: no other live worker' }), gate(isolated))!.review(verdict)).toEqual(isolated);
  });

  it('applies what confirmation applies when the guard lets it, with the confirmation note', () => {
    const alone: GateDecision = { verdict: 'apply', note: 'decided alone: no answer by the deadline' };
    expect(combineGates(gate(alone), gate({ verdict: 'apply' }))!.review(verdict)).toEqual(alone);
  });

  it('names both reasons when both hold, and asks confirmation first so its requests start', () => {
    const confirmation = gate({ verdict: 'hold', reason: 'waiting for confirmation from w2' });
    const guard = gate(isolated);
    expect(combineGates(confirmation, guard)!.review(verdict)).toEqual({ verdict: 'hold', reason: 'worker isolated; waiting for confirmation from w2' });
    expect([confirmation.reviews, guard.reviews]).toEqual([1, 1]);
  });

  it('tells both gates when a VIM settles, and is the one gate there is when the other is absent', () => {
    const confirmation = gate({ verdict: 'apply' });
    const guard = gate(isolated);
    combineGates(confirmation, guard)!.settled!('v');
    expect([confirmation.settledVims, guard.settledVims]).toEqual([['v'], ['v']]);
    expect(combineGates(undefined, guard)).toBe(guard);
    expect(combineGates(confirmation, undefined)).toBe(confirmation);
    expect(combineGates(undefined, undefined)).toBeUndefined();
  });
});
