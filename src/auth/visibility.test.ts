import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../errors.js';
import { requireAdmin, tenantScope } from './visibility.js';

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
