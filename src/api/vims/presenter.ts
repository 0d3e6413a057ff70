import { maskAuthCred } from '../../vims/credentials.js';
import type { VimRecord } from '../../vims/model.js';

export type WireVim = Record<string, unknown>;

/** How secrets are protected at rest; Tacker reports 'fernet_key' or 'barbican_key' here. */
const KEY_TYPE = 'aes-256-gcm';

/**
 * The Tacker v1.0 representation of a VIM. Secrets are always masked; the
 * auth_cred echo carries the derived fields Tacker adds (auth_url, project
 * name/domain/id, key_type) because clients display them.
 */
export function presentVim(vim: VimRecord): WireVim {
  return {
    id: vim.id,
    tenant_id: vim.tenantId,
    name: vim.name,
    description: vim.description,
    type: vim.type,
    auth_url: vim.authUrl,
    auth_cred: {
      ...maskAuthCred(vim.sealedAuthCred),
      auth_url: vim.authUrl,
      project_id: vim.vimProject.id ?? null,
      project_name: vim.vimProject.name,
      project_domain_name: vim.vimProject.project_domain_name ?? null,
      key_type: KEY_TYPE,
    },
    vim_project: vim.vimProject,
    is_default: vim.isDefault,
    extra: vim.extra,
    status: vim.status,
    placement_attr: vim.placementAttr,
    created_at: vim.createdAt,
    updated_at: vim.updatedAt,
    monitor_settings: vim.monitorSettings,
    // Layered health (read-only): as the VIM's monitor last stored it, on a condition or status change.
    conditions: vim.conditions,
    health: vim.health,
    capacity: vim.capacity,
  };
}

/** `fields=` projection as Tacker does it: only the named attributes, in the order asked. */
export function selectFields(vim: WireVim, fields: string[] | undefined): WireVim {
  if (!fields || fields.length === 0) return vim;
  const out: WireVim = {};
  for (const field of fields) if (field in vim) out[field] = vim[field];
  return out;
}
