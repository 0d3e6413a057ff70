import { describe, expect, it } from 'vitest';
import { invalidInputOf } from '../../../test/support/assertions.js';
import { FIELD_NAMES, parseListQuery } from './list-query.js';


const UNKNOWN_PARAMETER = (key: string): string =>
  `Unknown query parameter '${key}'; filters: id, name, tenant_id, type, status, is_default, maintenance, and fields`;

describe('parseListQuery filters', () => {
  it('returns an empty filter and no fields for an empty query', () => {
    expect(parseListQuery({})).toEqual({ filter: {} });
  });

  it('maps each attribute filter to its VimFilter key as a one-element list', () => {
    expect(parseListQuery({ id: 'i1', name: 'edge-1', tenant_id: 't1', type: 'openstack', status: 'REACHABLE' })).toEqual({
      filter: { ids: ['i1'], names: ['edge-1'], tenantIds: ['t1'], types: ['openstack'], statuses: ['REACHABLE'] },
    });
  });

  it('turns a repeated key into a list of alternatives', () => {
    expect(parseListQuery({ name: ['a', 'b'], type: ['openstack', 'kubernetes'] }).filter).toEqual({
      names: ['a', 'b'],
      types: ['openstack', 'kubernetes'],
    });
  });

  it('keeps commas inside a filter value (only fields= is comma-separated)', () => {
    expect(parseListQuery({ name: 'a,b' }).filter).toEqual({ names: ['a,b'] });
  });

  it('skips keys whose value is undefined', () => {
    expect(parseListQuery({ name: undefined, bogus: undefined })).toEqual({ filter: {} });
  });

  it('parses is_default true and 1 as true', () => {
    expect(parseListQuery({ is_default: 'true' }).filter).toEqual({ isDefault: true });
    expect(parseListQuery({ is_default: 'True' }).filter).toEqual({ isDefault: true });
    expect(parseListQuery({ is_default: '1' }).filter).toEqual({ isDefault: true });
  });

  it('parses is_default false and 0 as false', () => {
    expect(parseListQuery({ is_default: 'false' }).filter).toEqual({ isDefault: false });
    expect(parseListQuery({ is_default: 'FALSE' }).filter).toEqual({ isDefault: false });
    expect(parseListQuery({ is_default: '0' }).filter).toEqual({ isDefault: false });
  });

  it('uses the last value of a repeated is_default', () => {
    expect(parseListQuery({ is_default: ['true', 'false'] }).filter).toEqual({ isDefault: false });
  });

  it('refuses an is_default that is not a boolean', () => {
    expect(invalidInputOf(() => parseListQuery({ is_default: 'yes' }))).toBe(
      "Invalid value for filter 'is_default': must be true or false",
    );
    expect(invalidInputOf(() => parseListQuery({ is_default: '' }))).toBe(
      "Invalid value for filter 'is_default': must be true or false",
    );
  });

  it('refuses an unknown parameter with an InvalidInputError listing the filters', () => {
    expect(invalidInputOf(() => parseListQuery({ nmae: 'edge-1' }))).toBe(UNKNOWN_PARAMETER('nmae'));
  });

  it('refuses the VimFilter key names themselves as parameters', () => {
    expect(invalidInputOf(() => parseListQuery({ names: 'edge-1' }))).toBe(UNKNOWN_PARAMETER('names'));
    expect(invalidInputOf(() => parseListQuery({ isDefault: 'true' }))).toBe(UNKNOWN_PARAMETER('isDefault'));
  });

  it('refuses parameters named like Object.prototype members', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const query: Record<string, string> = Object.create(null) as Record<string, string>;
      query[key] = 'x';
      expect(invalidInputOf(() => parseListQuery(query)), key).toBe(UNKNOWN_PARAMETER(key));
    }
  });
});

describe('parseListQuery fields', () => {
  it('reads one fields value', () => {
    expect(parseListQuery({ fields: 'name' })).toEqual({ filter: {}, fields: ['name'] });
  });

  it('reads repeated fields values', () => {
    expect(parseListQuery({ fields: ['id', 'name'] }).fields).toEqual(['id', 'name']);
  });

  it('reads comma-separated fields, trimming blanks and empty items', () => {
    expect(parseListQuery({ fields: 'id, name,,status ' }).fields).toEqual(['id', 'name', 'status']);
  });

  it('combines repeated and comma-separated fields with filters', () => {
    expect(parseListQuery({ fields: ['id,name', 'auth_url'], type: 'kubernetes' })).toEqual({
      filter: { types: ['kubernetes'] },
      fields: ['id', 'name', 'auth_url'],
    });
  });

  it('accepts every field of a VIM', () => {
    const all = [...FIELD_NAMES];
    expect(parseListQuery({ fields: all.join(',') }).fields).toEqual(all);
    expect(all).toContain('auth_cred');
    expect(all).toContain('placement_attr');
  });

  it('refuses an unknown field, naming it', () => {
    expect(invalidInputOf(() => parseListQuery({ fields: 'id,passwd' }))).toBe("Unknown field 'passwd' in fields=");
  });

  it('refuses an unknown field given in a repeated fields value', () => {
    expect(invalidInputOf(() => parseListQuery({ fields: ['id', 'tenant'] }))).toBe("Unknown field 'tenant' in fields=");
  });
});
