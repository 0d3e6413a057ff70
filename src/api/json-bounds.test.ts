import { describe, expect, it } from 'vitest';
import { invalidInputOf } from '../../test/support/assertions.js';
import { checkFreeFormSizes, depthExceededAt, MAX_FREE_FORM_BYTES } from './json-bounds.js';

describe('depthExceededAt', () => {
  it('allows exactly the maximum depth and finds where the next level opens', () => {
    expect(depthExceededAt('[[{"a":[]}]]', 4)).toBe(-1);
    expect(depthExceededAt('[[{"a":[[]]}]]', 4)).toBe(8);
  });

  it('counts objects and arrays alike, and closes levels again', () => {
    expect(depthExceededAt('{"a":[1],"b":{"c":{}},"d":[[]]}', 3)).toBe(-1);
  });

  it('ignores brackets inside strings, also after escaped quotes and backslashes', () => {
    expect(depthExceededAt('{"a":"[[[[{{{{"}', 1)).toBe(-1);
    expect(depthExceededAt('{"a":"\\"[[[[","b":"\\\\"}', 1)).toBe(-1);
    expect(depthExceededAt('{"a":"\\\\",  "b":[[]]}', 2)).toBe(17);
  });

  it('scans 100,000 levels without recursion', () => {
    expect(depthExceededAt('['.repeat(100_000) + ']'.repeat(100_000), 32)).toBe(32);
  });
});

describe('checkFreeFormSizes', () => {
  it('refuses a schema-free field larger than the limit as JSON, and names it', () => {
    const body = { vim: { extra: { blob: 'x'.repeat(MAX_FREE_FORM_BYTES) } } };
    expect(invalidInputOf(() => checkFreeFormSizes(body))).toMatch(/^Invalid value for 'vim\.extra': \d+ bytes as JSON/);
  });

  it('counts bytes, not characters', () => {
    const body = { subscription: { filter: { tenant_id: 'é'.repeat(MAX_FREE_FORM_BYTES / 2) } } };
    expect(invalidInputOf(() => checkFreeFormSizes(body))).toMatch(/'subscription\.filter'/);
  });

  it('leaves fields within the limit and other attributes alone', () => {
    expect(() => checkFreeFormSizes({ vim: { extra: { blob: 'x'.repeat(MAX_FREE_FORM_BYTES - 20) }, description: 'y'.repeat(40_000) } })).not.toThrow();
    expect(() => checkFreeFormSizes([1, 2])).not.toThrow();
  });
});
