import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../errors.js';
import { requireAdmin, tenantScope } from './visibility.js';

const SRC = fileURLToPath(new URL('..', import.meta.url));

/** The service's own modules (not tests), as paths relative to src/. */
function sourceModules(under = ''): string[] {
  return readdirSync(join(SRC, under), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => relative(SRC, join(SRC, under, file)));
}

describe('the tenant scope', () => {
  const member = tenantScope({ projectId: 'project-a', isAdmin: false });
  const admin = tenantScope({ projectId: 'admin-project', isAdmin: true });

  it('lets a member see its own project only', () => {
    expect(member.all).toBe(false);
    expect(member.includes('project-a')).toBe(true);
    expect(member.includes('project-b')).toBe(false);
    expect(member.includes('')).toBe(false);
  });

  it('narrows a member tenant filter to its own project, and no filter to its own project', () => {
    expect(member.narrow(undefined)).toEqual(['project-a']);
    expect(member.narrow(['project-b', 'project-a'])).toEqual(['project-a']);
    expect(member.narrow(['project-b'])).toEqual([]);
  });

  it('lets an administrator see every project and keeps the filter it asked for', () => {
    expect(admin.all).toBe(true);
    expect(admin.includes('project-b')).toBe(true);
    expect(admin.narrow(undefined)).toBeUndefined();
    expect(admin.narrow(['project-b'])).toEqual(['project-b']);
  });

  it('refuses what only an administrator may do to a member', () => {
    expect(() => requireAdmin({ projectId: 'project-a', isAdmin: false }, 'do that')).toThrow(ForbiddenError);
    expect(() => requireAdmin({ projectId: 'admin-project', isAdmin: true }, 'do that')).not.toThrow();
  });
});

describe('where the tenant-visibility rule lives', () => {
  it('is read from the request context in auth/visibility.ts only, never decided again elsewhere', () => {
    const readers = sourceModules().filter((file) => /\.isAdmin\b/.test(readFileSync(join(SRC, file), 'utf8')));
    expect(readers).toEqual([join('auth', 'visibility.ts')]);
  });

  it('is applied by services: API modules import no repository or other store module', () => {
    const importers = sourceModules('api').filter((file) => /from '(\.\.\/)+store\//.test(readFileSync(join(SRC, file), 'utf8')));
    expect(importers).toEqual([]);
  });
});
