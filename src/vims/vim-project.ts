import { InvalidInputError, quoteAttribute } from '../errors.js';
import type { VimProject, VimType } from './model.js';

// Kubernetes namespaces are RFC 1123 labels.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const FIELDS: Record<VimType, ReadonlySet<string>> = {
  openstack: new Set(['name', 'id', 'project_domain_name']),
  kubernetes: new Set(['name']),
};

/** Validates vim_project: the OpenStack project to scope to, or the Kubernetes namespace. */
export function validateVimProject(type: VimType, raw: Record<string, unknown>): VimProject {
  for (const [key, value] of Object.entries(raw)) {
    if (!FIELDS[type].has(key)) throw new InvalidInputError(`Unrecognized attribute ${quoteAttribute('vim_project', key)} for ${type === 'openstack' ? 'an OpenStack' : 'a Kubernetes'} VIM`);
    if (typeof value !== 'string') throw new InvalidInputError(`vim_project.${key} must be a string`);
    if (value.length > 255) throw new InvalidInputError(`vim_project.${key} is longer than 255 characters`);
  }
  const name = typeof raw.name === 'string' ? raw.name.trim() : '';
  if (name === '') throw new InvalidInputError('vim_project.name is required (the project name, or the namespace of a Kubernetes VIM)');
  if (type === 'kubernetes') {
    if (name.length > 63 || !NAMESPACE.test(name)) {
      throw new InvalidInputError(`vim_project.name '${name}' is not a valid Kubernetes namespace (RFC 1123 label)`);
    }
    return { name };
  }
  const project: VimProject = {
    name,
    project_domain_name: typeof raw.project_domain_name === 'string' && raw.project_domain_name !== '' ? raw.project_domain_name : 'Default',
  };
  if (typeof raw.id === 'string' && raw.id !== '') project.id = raw.id;
  return project;
}
