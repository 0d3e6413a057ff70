import { describe, expect, it } from 'vitest';
import { FlapDamper } from './flap-damper.js';

const S = 1000;

describe('the flap damper', () => {
  it('marks a VIM flapping at the change that exceeds max_changes within the window, not before', () => {
    const damper = new FlapDamper({ maxChanges: 3, windowMs: 60 * S });
    expect([0, 10, 20].map((t) => damper.record('v', t * S))).toEqual(['steady', 'steady', 'steady']);
    expect(damper.stateOf('v')).toBeUndefined();
    expect(damper.record('v', 30 * S)).toBe('started');
    expect(damper.stateOf('v')).toEqual({ sinceMs: 30 * S, changes: 4, lastNotifiedMs: 30 * S });
    expect(damper.record('v', 35 * S)).toBe('flapping');
    expect(damper.flappingCount()).toBe(1);
  });

  it('counts only the changes within the window: slow changes never flap', () => {
    const damper = new FlapDamper({ maxChanges: 3, windowMs: 60 * S });
    for (let t = 0; t < 600; t += 25) expect(damper.record('v', t * S)).toBe('steady');
  });

  it('allows one status per window while flapping', () => {
    const damper = new FlapDamper({ maxChanges: 1, windowMs: 60 * S });
    damper.record('v', 0);
    damper.record('v', 1 * S);
    expect(damper.notifyDue('v', 30 * S)).toBe(false);
    expect(damper.notifyDue('v', 61 * S)).toBe(true);
    damper.notified('v', 61 * S);
    expect(damper.notifyDue('v', 100 * S)).toBe(false);
    expect(damper.notifyDue('other', 100 * S)).toBe(false);
  });

  it('calms a VIM down after a whole window without a change, and forgets quiet VIMs', () => {
    const damper = new FlapDamper({ maxChanges: 1, windowMs: 60 * S });
    damper.record('v', 0);
    damper.record('v', 10 * S);
    damper.record('quiet', 0);
    expect(damper.nextDue()).toBe(70 * S);
    expect(damper.settle(69 * S)).toEqual([]);
    expect(damper.stateOf('v')).toBeDefined();
    expect(damper.settle(70 * S)).toEqual(['v']);
    expect(damper.stateOf('v')).toBeUndefined();
    expect(damper.flappingCount()).toBe(0);
    // A change after calming down starts the count afresh.
    expect(damper.record('v', 71 * S)).toBe('steady');
  });

  it('does nothing with max_changes 0', () => {
    const damper = new FlapDamper({ maxChanges: 0, windowMs: 60 * S });
    for (let t = 0; t < 10; t++) expect(damper.record('v', t)).toBe('steady');
    expect(damper.flappingCount()).toBe(0);
  });
});
