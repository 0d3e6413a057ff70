import { describe, expect, it } from 'vitest';
import { chooseConfirmers, type Vantage } from './selection.js';

const w = (id: string, zone: string | null = null): Vantage => ({ id, zone });

describe('choosing the workers that confirm a down verdict', () => {
  it('never asks the owner itself, and asks nobody when it is alone', () => {
    expect(chooseConfirmers(w('a', 'z1'), [w('a', 'z1')], 2, 'vim-1')).toEqual([]);
    expect(chooseConfirmers(w('a'), [], 2, 'vim-1')).toEqual([]);
  });

  it('asks at most count workers, and all of them when fewer are live', () => {
    const live = [w('a'), w('b'), w('c'), w('d')];
    expect(chooseConfirmers(w('a'), live, 2, 'vim-1')).toHaveLength(2);
    expect(chooseConfirmers(w('a'), live.slice(0, 2), 2, 'vim-1').map((x) => x.id)).toEqual(['b']);
  });

  it('prefers workers of other zones to workers of its own zone', () => {
    const live = [w('a', 'z1'), w('a2', 'z1'), w('a3', 'z1'), w('b', 'z2')];
    for (const vim of ['v1', 'v2', 'v3', 'v4', 'v5']) {
      const chosen = chooseConfirmers(w('a', 'z1'), live, 1, vim);
      expect(chosen.map((x) => x.id)).toEqual(['b']);
    }
    // A second confirmer comes from the own zone only when no other zone has one left.
    expect(chooseConfirmers(w('a', 'z1'), live, 2, 'v1')[0]?.id).toBe('b');
    expect(chooseConfirmers(w('a', 'z1'), live, 2, 'v1')[1]?.zone).toBe('z1');
  });

  it('spreads the asked workers over as many zones as there are before taking two from one zone', () => {
    const live = [w('a', 'z1'), w('b1', 'z2'), w('b2', 'z2'), w('b3', 'z2'), w('c1', 'z3')];
    for (const vim of ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']) {
      const zones = chooseConfirmers(w('a', 'z1'), live, 2, vim).map((x) => x.zone);
      expect(zones.sort()).toEqual(['z2', 'z3']);
    }
  });

  it('counts a worker without a zone as a place of its own', () => {
    const chosen = chooseConfirmers(w('a', 'z1'), [w('a2', 'z1'), w('n1'), w('n2')], 2, 'v1');
    expect(chosen.map((x) => x.id).sort()).toEqual(['n1', 'n2']);
  });

  it('spreads a burst of requests over every eligible worker, the same way for the same VIM', () => {
    const live = [w('a'), ...Array.from({ length: 5 }, (_, i) => w(`o${i}`))];
    const load = new Map<string, number>();
    for (let i = 0; i < 1_000; i++) {
      for (const worker of chooseConfirmers(w('a'), live, 2, `vim-${i}`)) load.set(worker.id, (load.get(worker.id) ?? 0) + 1);
    }
    expect(load.size).toBe(5);
    for (const count of load.values()) expect(count).toBeGreaterThan(300); // 400 each when even
    expect(chooseConfirmers(w('a'), live, 2, 'vim-7')).toEqual(chooseConfirmers(w('a'), [...live].reverse(), 2, 'vim-7'));
  });
});
