import type { CapacityFigures, Condition, Health } from '../health/condition.js';
import type { MonitorSettingsOverride } from '../monitors/settings.js';

/** The VIM as the registry knows it. Wire names (snake_case) live in the API presenter. */
export const VIM_TYPES = ['openstack', 'kubernetes'] as const;
export type VimType = (typeof VIM_TYPES)[number];

export const VIM_STATUSES = ['PENDING', 'REACHABLE', 'UNREACHABLE'] as const;
export type VimStatus = (typeof VIM_STATUSES)[number];

/** Credential values as clients send them; secrets are plain text only in memory. */
export type AuthCred = Record<string, string>;

export interface VimProject {
  name: string;
  project_domain_name?: string;
  id?: string;
}

export interface PlacementAttr {
  regions: string[];
}

export interface VimRecord {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  type: VimType;
  authUrl: string;
  /** Secret values are encrypted envelopes (see vims/credentials.ts). */
  sealedAuthCred: AuthCred;
  vimProject: VimProject;
  isDefault: boolean;
  extra: Record<string, unknown>;
  status: VimStatus;
  placementAttr: PlacementAttr;
  /** Tacker format: `YYYY-MM-DD hh:mm:ss.ffffff`, UTC. */
  createdAt: string;
  updatedAt: string | null;
  revision: number;
  /** The VIM's own monitor settings; null means the global defaults. */
  monitorSettings: MonitorSettingsOverride | null;
  /** Layered health as its monitor last stored it (read-only): empty and null until first checked. */
  conditions: Condition[];
  health: Health | null;
  /** Measured by the deep checks; null until measured. */
  capacity: CapacityFigures | null;
}

/** Who is asking: the tenant (project) and whether they may act on every tenant. */
export interface RequestContext {
  projectId: string;
  userId?: string;
  isAdmin: boolean;
}

export interface VimCreateInput {
  name: string;
  type: VimType;
  authUrl: string;
  authCred: Record<string, unknown>;
  vimProject: Record<string, unknown>;
  tenantId?: string;
  description?: string;
  isDefault?: boolean;
  extra?: Record<string, unknown>;
  monitorSettings?: MonitorSettingsOverride | null;
}

export interface VimUpdateInput {
  name?: string;
  description?: string;
  isDefault?: boolean;
  authCred?: Record<string, unknown>;
  vimProject?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  /** null returns the VIM to the global defaults. */
  monitorSettings?: MonitorSettingsOverride | null;
}

/** Attribute filters of a list request; several values of one attribute are alternatives. */
export interface VimFilter {
  tenantIds?: string[];
  ids?: string[];
  names?: string[];
  types?: string[];
  statuses?: string[];
  isDefault?: boolean;
}
