import type { ErrorObject } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';
import { quoteAttribute } from '../../errors.js';
import { monitorSettingsProperties } from '../../monitors/settings.js';
import { VIM_TYPES } from '../../vims/model.js';

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
