import { describe, expect, it } from 'vitest';
import { INTERNED_MAX, interned, internedCount } from './interned.js';

describe('interned row values', () => {
  it('holds one entry per distinct value however often it is read, and passes null through', () => {
    const before = internedCount();
    const value = ['REACH', 'ABLE-test'].join('');
    for (let i = 0; i < 100; i++) expect(interned(`${value}`)).toBe('REACHABLE-test');
    expect(internedCount()).toBe(before + 1);
    expect(interned(null)).toBeNull();
  });

  it('stops growing at its cap and still answers every value as read', () => {
    for (let i = 0; i < INTERNED_MAX + 50; i++) expect(interned(`value-${i}`)).toBe(`value-${i}`);
    expect(internedCount()).toBe(INTERNED_MAX);
  });
});
