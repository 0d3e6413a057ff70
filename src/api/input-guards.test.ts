import { describe, expect, it } from 'vitest';
import { invalidInputOf } from '../../test/support/assertions.js';
import { checkString, parseNonNegativeInteger, parseUtcTimestamp } from './input-guards.js';

describe('checkString', () => {
  it('refuses U+0000 and unpaired surrogates, and accepts paired ones', () => {
    expect(invalidInputOf(() => checkString('a\u0000', 'query string'))).toMatch(/query string contains a NUL/);
    expect(invalidInputOf(() => checkString('\ud800x', 'path'))).toMatch(/unpaired UTF-16 surrogate/);
    expect(invalidInputOf(() => checkString('x\udc00', 'path'))).toMatch(/unpaired UTF-16 surrogate/);
    expect(() => checkString('emoji \u{1F600} and \u00e9', 'request body')).not.toThrow();
  });
});

describe('parseNonNegativeInteger', () => {
  it('takes decimal digits up to 2^53 - 1', () => {
    expect(parseNonNegativeInteger('0', 'after_id')).toBe(0);
    expect(parseNonNegativeInteger('9007199254740991', 'after_id')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseNonNegativeInteger(undefined, 'after_id')).toBeUndefined();
  });

  it('refuses what a bigint column or a JavaScript number cannot hold exactly, and other spellings', () => {
    for (const value of ['9007199254740992', '100000000000000000000', '1e20', '-1', '1.0', '', ' 1', '0x10']) {
      expect(invalidInputOf(() => parseNonNegativeInteger(value, 'after_id')), value).toMatch(/^after_id must be a non-negative integer/);
    }
  });
});

describe('parseUtcTimestamp', () => {
  it("returns Tacker's stored form for both spellings", () => {
    expect(parseUtcTimestamp('2026-01-31 12:00:00', 'since')).toBe('2026-01-31 12:00:00.000000');
    expect(parseUtcTimestamp('2026-01-31T12:00:00.5Z', 'since')).toBe('2026-01-31 12:00:00.500000');
    expect(parseUtcTimestamp('2028-02-29T23:59:59Z', 'since')).toBe('2028-02-29 23:59:59.000000');
  });

  it('refuses dates and times that do not exist', () => {
    for (const value of ['2026-13-45T99:99:99Z', '2026-02-29 00:00:00', '2026-04-31 00:00:00', '2026-01-01 24:00:00', '2026-01-01 00:60:00', '2026-01-01 00:00:60']) {
      expect(invalidInputOf(() => parseUtcTimestamp(value, 'since')), value).toMatch(/^since must be a real UTC timestamp/);
    }
  });
});
