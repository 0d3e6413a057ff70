import { describe, expect, it } from 'vitest';
import { RoundStats } from './round-stats.js';

describe('round statistics', () => {
  it('counts scheduled and executed rounds and those more than a second late', () => {
    const stats = new RoundStats();
    for (let i = 0; i < 5; i++) stats.scheduled();
    [0, 3, 40, 1200].forEach((lateness) => stats.executed(lateness));
    expect(stats.snapshot()).toMatchObject({ scheduled: 5, executed: 4, late_over_1s: 1 });
  });

  it('reports percentiles as bucket bounds and the exact maximum', () => {
    const stats = new RoundStats();
    for (let i = 0; i < 98; i++) stats.executed(2);
    stats.executed(300);
    stats.executed(7000);
    expect(stats.snapshot().lateness_ms).toEqual({ p50: 5, p99: 500, max: 7000 });
  });

  it('reports zeros before any round', () => {
    expect(new RoundStats().snapshot()).toEqual({ scheduled: 0, executed: 0, late_over_1s: 0, lateness_ms: { p50: 0, p99: 0, max: 0 } });
  });
});
