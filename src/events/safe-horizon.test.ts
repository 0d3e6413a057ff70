import { describe, expect, it } from 'vitest';
import { SafeHorizon } from './safe-horizon.js';

describe('the safe horizon of event readers', () => {
  it('only releases ids that were already visible settleMs ago', () => {
    let now = 0;
    const horizon = new SafeHorizon({ now: () => new Date(now) }, 1000);
    expect(horizon.observe(5)).toBe(0);
    now = 500;
    expect(horizon.observe(9)).toBe(0);
    now = 1000;
    expect(horizon.observe(12)).toBe(5);
    now = 1600;
    expect(horizon.observe(12)).toBe(9);
    now = 5000;
    expect(horizon.observe(12)).toBe(12);
  });

  it('never moves backwards', () => {
    let now = 0;
    const horizon = new SafeHorizon({ now: () => new Date(now) }, 100);
    horizon.observe(10);
    now = 200;
    expect(horizon.observe(3)).toBe(10);
  });
});
