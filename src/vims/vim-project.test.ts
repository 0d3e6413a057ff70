import { describe, expect, it } from 'vitest';
import { invalidInputOf } from '../../test/support/assertions.js';
import { validateVimProject } from './vim-project.js';


describe('validateVimProject for OpenStack', () => {
  it('defaults project_domain_name to Default', () => {
    expect(validateVimProject('openstack', { name: 'nfv' })).toEqual({ name: 'nfv', project_domain_name: 'Default' });
  });

  it('defaults an empty project_domain_name to Default', () => {
    expect(validateVimProject('openstack', { name: 'nfv', project_domain_name: '' })).toEqual({
      name: 'nfv',
      project_domain_name: 'Default',
    });
  });

  it('keeps a given project_domain_name and id', () => {
    expect(validateVimProject('openstack', { name: 'nfv', id: '0123456789abcdef', project_domain_name: 'ldap' })).toEqual({
      name: 'nfv',
      id: '0123456789abcdef',
      project_domain_name: 'ldap',
    });
  });

  it('leaves out an empty id', () => {
    expect(validateVimProject('openstack', { name: 'nfv', id: '' })).not.toHaveProperty('id');
  });

  it('trims the project name', () => {
    expect(validateVimProject('openstack', { name: '  nfv  ' }).name).toBe('nfv');
  });

  it('accepts OpenStack project names that are not Kubernetes labels', () => {
    expect(validateVimProject('openstack', { name: 'NFV_Project 1' }).name).toBe('NFV_Project 1');
  });

  it('requires a name', () => {
    expect(invalidInputOf(() => validateVimProject('openstack', { id: 'abc' }))).toBe(
      'vim_project.name is required (the project name, or the namespace of a Kubernetes VIM)',
    );
  });

  it('refuses a blank name', () => {
    expect(invalidInputOf(() => validateVimProject('openstack', { name: '   ' }))).toMatch(/^vim_project\.name is required/);
  });

  it('refuses an unknown key, naming vim_project.<key>', () => {
    expect(invalidInputOf(() => validateVimProject('openstack', { name: 'nfv', domain: 'x' }))).toBe(
      "Unrecognized attribute 'vim_project.domain' for an OpenStack VIM",
    );
  });

  it('refuses a non-string id', () => {
    expect(invalidInputOf(() => validateVimProject('openstack', { name: 'nfv', id: 42 }))).toBe('vim_project.id must be a string');
  });

  it('refuses a value longer than 255 characters', () => {
    expect(invalidInputOf(() => validateVimProject('openstack', { name: 'n'.repeat(256) }))).toBe(
      'vim_project.name is longer than 255 characters',
    );
  });
});

describe('validateVimProject for Kubernetes', () => {
  it('accepts an RFC 1123 label as namespace and adds nothing to it', () => {
    expect(validateVimProject('kubernetes', { name: 'default' })).toEqual({ name: 'default' });
    expect(validateVimProject('kubernetes', { name: 'nfv-ns-1' })).toEqual({ name: 'nfv-ns-1' });
    expect(validateVimProject('kubernetes', { name: '0' })).toEqual({ name: '0' });
  });

  it('refuses Bad_NS (upper case and underscore) as namespace', () => {
    expect(invalidInputOf(() => validateVimProject('kubernetes', { name: 'Bad_NS' }))).toBe(
      "vim_project.name 'Bad_NS' is not a valid Kubernetes namespace (RFC 1123 label)",
    );
  });

  it('refuses a namespace starting or ending with a hyphen', () => {
    expect(invalidInputOf(() => validateVimProject('kubernetes', { name: '-ns' }))).toMatch(/is not a valid Kubernetes namespace/);
    expect(invalidInputOf(() => validateVimProject('kubernetes', { name: 'ns-' }))).toMatch(/is not a valid Kubernetes namespace/);
  });

  it('refuses a namespace with a dot (a DNS subdomain, not a label)', () => {
    expect(invalidInputOf(() => validateVimProject('kubernetes', { name: 'a.b' }))).toMatch(/is not a valid Kubernetes namespace/);
  });

  it('accepts a 63 character namespace', () => {
    const name = 'a'.repeat(63);
    expect(validateVimProject('kubernetes', { name })).toEqual({ name });
  });

  it('refuses a 64 character namespace', () => {
    const name = 'a'.repeat(64);
    expect(invalidInputOf(() => validateVimProject('kubernetes', { name }))).toBe(
      `vim_project.name '${name}' is not a valid Kubernetes namespace (RFC 1123 label)`,
    );
  });

  it('refuses project_domain_name and id, which only OpenStack has', () => {
    expect(invalidInputOf(() => validateVimProject('kubernetes', { name: 'default', project_domain_name: 'Default' }))).toBe(
      "Unrecognized attribute 'vim_project.project_domain_name' for a Kubernetes VIM",
    );
    expect(invalidInputOf(() => validateVimProject('kubernetes', { name: 'default', id: 'x' }))).toBe(
      "Unrecognized attribute 'vim_project.id' for a Kubernetes VIM",
    );
  });

  it('requires a namespace name', () => {
    expect(invalidInputOf(() => validateVimProject('kubernetes', {}))).toBe(
      'vim_project.name is required (the project name, or the namespace of a Kubernetes VIM)',
    );
  });

  it('refuses a non-string namespace', () => {
    expect(invalidInputOf(() => validateVimProject('kubernetes', { name: ['default'] }))).toBe('vim_project.name must be a string');
  });
});
