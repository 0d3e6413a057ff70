import type { ErrorObject } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';
import { quoteAttribute } from '../../errors.js';
import { monitorSettingsProperties } from '../../monitors/settings.js';
import { VIM_STATUSES, VIM_TYPES } from '../../vims/model.js';
import { capacitySchema, conditionSchema, healthSchema, ref } from '../health-schemas.js';
import { maintenanceStateSchema } from '../maintenances/schemas.js';

/** Refused whatever its value: an attribute the server owns or that cannot change. */
const refused = { not: {} } as const;
/** Attributes the server owns: sending them is an error, not a silent no-op. */
const readOnly = {
  id: refused,
  status: refused,
  placement_attr: refused,
  created_at: refused,
  updated_at: refused,
  // Layered health: what the monitor and the deep checks say, never what a client says.
  conditions: refused,
  health: refused,
  capacity: refused,
  // Declared through /v1.0/maintenances, not on the VIM.
  maintenance: refused,
} as const;

const name = { type: 'string', maxLength: 255 } as const;
const description = { type: 'string', maxLength: 1024 } as const;
const object = { type: 'object' } as const;
/** A VIM's own monitor settings; null (on update) returns it to the global defaults. */
const monitorSettings = { type: ['object', 'null'], additionalProperties: false, properties: monitorSettingsProperties } as const;

export const createVimBody = {
  type: 'object',
  additionalProperties: false,
  required: ['vim'],
  properties: {
    vim: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'type', 'auth_url', 'auth_cred', 'vim_project'],
      properties: {
        ...readOnly,
        name,
        description,
        type: { enum: VIM_TYPES },
        auth_url: { type: 'string', maxLength: 2048 },
        auth_cred: object,
        vim_project: object,
        tenant_id: { type: 'string', minLength: 1, maxLength: 64 },
        is_default: { type: 'boolean' },
        extra: object,
        monitor_settings: monitorSettings,
      },
    },
  },
} as const;

export const updateVimBody = {
  type: 'object',
  additionalProperties: false,
  required: ['vim'],
  properties: {
    vim: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ...readOnly,
        // Fixed at registration: changing them would make it another VIM.
        type: refused,
        auth_url: refused,
        tenant_id: refused,
        name,
        description,
        auth_cred: object,
        vim_project: object,
        is_default: { type: 'boolean' },
        extra: object,
        monitor_settings: monitorSettings,
      },
    },
  },
} as const;

export const vimIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

const freeForm = (description: string) => ({ type: 'object', additionalProperties: true, description }) as const;
const tackerTimestamp = { type: 'string', description: 'UTC, Tacker format `YYYY-MM-DD hh:mm:ss.ffffff`' } as const;

/**
 * A VIM as GET/POST/PUT answer it (presenter.ts), for the OpenAPI document
 * only: responses are not serialised through it (server.ts). Closed, so that
 * an attribute added to the presenter and not here fails src/api/openapi.test.ts;
 * nothing is required, because `fields=` returns only the attributes asked for.
 */
export const vimSchema = {
  $id: 'Vim',
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    tenant_id: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    type: { type: 'string', enum: VIM_TYPES },
    auth_url: { type: 'string' },
    auth_cred: freeForm(
      'The credentials as sent, every secret (password, bearer_token, ssl_ca_cert, …) masked as `***`, plus auth_url, project_id, project_name, project_domain_name and key_type.',
    ),
    vim_project: freeForm('`{name, project_domain_name}` as sent (for Kubernetes, `name` is the namespace).'),
    is_default: { type: 'boolean' },
    extra: freeForm('As sent.'),
    status: { type: 'string', enum: VIM_STATUSES, description: 'Tacker status: REACHABLE when every required check passes.' },
    placement_attr: freeForm('Computed: `{regions: [...]}` (OpenStack regions, or Kubernetes namespaces).'),
    created_at: tackerTimestamp,
    updated_at: { type: ['string', 'null'], description: 'UTC, Tacker format; null until first updated.' },
    monitor_settings: { type: ['object', 'null'], additionalProperties: true, description: "The VIM's own monitor settings; null: the global defaults." },
    conditions: { type: 'array', items: ref(conditionSchema), description: 'Read-only: layered health as last stored by the monitor; empty until first checked.' },
    health: ref(healthSchema),
    capacity: ref(capacitySchema),
    maintenance: maintenanceStateSchema,
  },
} as const;

export const vimShowResponse = {
  description: 'The VIM',
  type: 'object',
  additionalProperties: false,
  required: ['vim'],
  properties: { vim: ref(vimSchema) },
} as const;

export const vimListResponse = {
  description: 'The VIMs the caller may see, filtered and projected as asked',
  type: 'object',
  additionalProperties: false,
  required: ['vims'],
  properties: { vims: { type: 'array', items: ref(vimSchema) } },
} as const;

/**
 * Request bodies as the schemas above let them through. json-schema-to-ts
 * types a refused attribute (`not: {}`) as unknown, not never: routes never
 * read them, and Ajv has already refused any request that sent one.
 */
export type CreateVimBody = FromSchema<typeof createVimBody>;
export type UpdateVimBody = FromSchema<typeof updateVimBody>;
export type VimIdParams = FromSchema<typeof vimIdParams>;

/** Turns the first schema violation into a sentence a CLI user understands. */
export function describeSchemaError(errors: ErrorObject[], dataVar: string): string {
  const error = errors[0];
  if (!error) return `Invalid ${dataVar}`;
  const at = error.instancePath.split('/').filter(Boolean).join('.');
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `Unrecognized attribute ${quoteAttribute(at, String(params.additionalProperty))}`;
    case 'required':
      return `Missing attribute '${at ? `${at}.` : ''}${String(params.missingProperty)}'`;
    case 'not':
      return `Attribute '${at}' is read-only or cannot be changed`;
    case 'enum':
      return `Invalid value for '${at}': must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'type':
      return `Invalid value for '${at || dataVar}': must be ${String(params.type)}`;
    case 'maxLength':
    case 'minLength':
      return `Invalid value for '${at}': ${error.message ?? 'wrong length'}`;
    default:
      return `Invalid value for '${at || dataVar}': ${error.message ?? 'invalid'}`;
  }
}
