import type { FromSchema } from 'json-schema-to-ts';
import { MAX_DURATION_MINUTES, WEEKDAYS } from '../../maintenance/schedule.js';
import { MAX_SCOPE_VIMS } from '../../maintenance/service.js';

const timestampInput = {
  type: 'string',
  maxLength: 40,
  description: "UTC: '2026-12-01 10:00:00' or '2026-12-01T10:00:00Z' (fraction allowed)",
} as const;

const scope = {
  type: 'object',
  additionalProperties: false,
  description: 'Exactly one of: `vim_ids` (VIMs the caller may see), `tenant_id` (every VIM of a tenant, now and later), `all: true` (every VIM; administrators only).',
  properties: {
    vim_ids: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 64 }, maxItems: MAX_SCOPE_VIMS },
    tenant_id: { type: 'string', minLength: 1, maxLength: 64 },
    all: { type: 'boolean' },
  },
} as const;

const recurrence = {
  type: 'object',
  additionalProperties: false,
  required: ['days', 'start_time', 'duration', 'time_zone'],
  description:
    'A weekly slot: on each of `days`, from `start_time` on the wall clock of `time_zone`, for `duration` elapsed minutes. A start time skipped by a DST change opens the window as much later; one that happens twice opens it at the first (docs/maintenance.md).',
  properties: {
    days: { type: 'array', items: { type: 'string', enum: WEEKDAYS }, minItems: 1, maxItems: 7 },
    start_time: { type: 'string', maxLength: 5, description: "'HH:MM', 24 h, local time" },
    duration: { type: 'integer', minimum: 1, maximum: MAX_DURATION_MINUTES, description: 'minutes' },
    time_zone: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Paris' },
  },
} as const;

export const createMaintenanceBody = {
  type: 'object',
  additionalProperties: false,
  required: ['maintenance'],
  properties: {
    maintenance: {
      type: 'object',
      additionalProperties: false,
      required: ['reason', 'scope'],
      properties: {
        reason: { type: 'string', minLength: 1, maxLength: 1024 },
        scope,
        start: { ...timestampInput, description: 'One-off windows: when it opens (default: now).' },
        end: { type: ['string', 'null'], maxLength: 40, description: 'One-off windows: when it closes; absent or null: open-ended (until deleted).' },
        recurrence,
      },
    },
  },
} as const;

export const maintenanceIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export type CreateMaintenanceBody = FromSchema<typeof createMaintenanceBody>;
export type MaintenanceIdParams = FromSchema<typeof maintenanceIdParams>;

/** A VIM's open maintenance window, as the VIM and monitor views show it (maintenance/calendar.ts MaintenanceState). */
export const maintenanceStateSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['window_id', 'reason', 'since', 'until'],
  description:
    "The maintenance window the VIM is in now (its changes are stored and shown with held_by 'maintenance', not sent to webhooks or AMQP), or null.",
  properties: {
    window_id: { type: 'string' },
    reason: { type: 'string' },
    since: { type: 'string', description: 'UTC, Tacker format: when this occurrence of the window opened' },
    until: { type: ['string', 'null'], description: 'UTC, Tacker format: when it closes; null: open-ended' },
  },
} as const;

const tackerTime = { type: 'string', description: 'UTC, Tacker format `YYYY-MM-DD hh:mm:ss.ffffff`' } as const;

/** A window as the maintenance routes answer it (routes.ts present()); for the OpenAPI document only. */
const maintenanceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'tenant_id', 'reason', 'scope', 'start', 'end', 'recurrence', 'created_at', 'open_now'],
  properties: {
    id: { type: 'string' },
    tenant_id: { type: 'string', description: "The tenant that owns the window: the VIMs' tenant, or the administrator's for a window over several tenants or all VIMs." },
    reason: { type: 'string' },
    scope,
    start: { type: ['string', 'null'], description: 'One-off windows: when it opens (UTC, Tacker format); null for a recurring window.' },
    end: { type: ['string', 'null'], description: 'One-off windows: when it closes; null when open-ended or recurring.' },
    recurrence: { ...recurrence, type: ['object', 'null'] },
    created_at: tackerTime,
    open_now: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['since', 'until'],
      properties: { since: tackerTime, until: { type: ['string', 'null'] } },
      description: 'The occurrence open now (`until` null: open-ended), or null.',
    },
  },
} as const;

export const maintenanceShowResponse = {
  description: 'The maintenance window',
  type: 'object',
  additionalProperties: false,
  required: ['maintenance'],
  properties: { maintenance: maintenanceSchema },
} as const;

export const maintenanceListResponse = {
  description: 'The maintenance windows the caller may see',
  type: 'object',
  additionalProperties: false,
  required: ['maintenances'],
  properties: { maintenances: { type: 'array', items: maintenanceSchema } },
} as const;
