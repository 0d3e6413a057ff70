import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ComputedGauge, type GaugeSample } from './computed-gauge.js';

describe('ComputedGauge', () => {
  it("writes what prom-client's own Gauge writes for the same series, made anew at every scrape", async () => {
    const configuration = { name: 'vim_status', help: 'Status of each VIM.', labelNames: ['vim_id', 'status'] as const };
    const state = new Map<string, string>([
      ['vim-a', 'REACHABLE'],
      ['vim-b', 'UNREACHABLE'],
    ]);
    const computedRegistry = new Registry();
    new ComputedGauge({ ...configuration, registers: [computedRegistry] }, () => {
      const out: Array<GaugeSample<'vim_id' | 'status'>> = [];
      for (const [vimId, current] of state) for (const status of ['PENDING', 'REACHABLE']) out.push({ labels: { vim_id: vimId, status }, value: status === current ? 1 : 0 });
      return out;
    });
    const plainRegistry = new Registry();
    const plain = new Gauge({ ...configuration, registers: [plainRegistry] });
    const setPlain = () => {
      plain.reset();
      for (const [vimId, current] of state) for (const status of ['PENDING', 'REACHABLE']) plain.set({ vim_id: vimId, status }, status === current ? 1 : 0);
    };
    setPlain();
    expect(await computedRegistry.metrics()).toBe(await plainRegistry.metrics());
    expect(await computedRegistry.metrics()).toContain('vim_status{vim_id="vim-a",status="REACHABLE"} 1');

    state.delete('vim-a');
    state.set('vim-c', 'PENDING');
    setPlain();
    expect(await computedRegistry.metrics()).toBe(await plainRegistry.metrics());
    expect(await computedRegistry.metrics()).not.toContain('vim-a');
  });
});
