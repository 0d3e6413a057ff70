import {
  FIXED_CONDITION_TYPES,
  HEALTH_LAYERS,
  type ConditionSeverity,
  type ConditionStatus,
  type Health,
} from '../health/condition.js';
import { PROBE_NAMES } from '../probes/probe.js';

/**
 * Layered health (issue 10) as the OpenAPI document shows it: shared
 * components ($id = component name) referenced by the VIM, monitor and event
 * responses. Documentation only: responses are serialised with JSON.stringify
 * whatever these say (server.ts), and src/api/openapi.test.ts checks real
 * responses against them.
 */

/** Every value of a union type, checked both ways: a value added to the type and not here fails to compile. */
function everyValueOf<T extends string>() {
  return <const V extends readonly T[]>(values: V & ([T] extends [V[number]] ? unknown : never)): V => values;
}

export const CONDITION_STATUSES = everyValueOf<ConditionStatus>()(['True', 'False', 'Unknown']);
export const CONDITION_SEVERITIES = everyValueOf<ConditionSeverity>()(['error', 'warning', 'info']);
export const HEALTH_VALUES = everyValueOf<Health>()(['OK', 'DEGRADED', 'DOWN']);

const timestamp = { type: 'string', description: 'UTC, Tacker format `YYYY-MM-DD hh:mm:ss.ffffff`' } as const;

export const conditionSchema = {
  $id: 'VimCondition',
  type: 'object',
  description: 'One condition of a VIM, Kubernetes-style: one per type.',
  additionalProperties: false,
  required: ['type', 'layer', 'status', 'severity', 'reason', 'since', 'last_checked'],
  properties: {
    type: {
      description: `A fixed type (${FIXED_CONDITION_TYPES.join(', ')}) or \`Service:<catalog type>\` for an OpenStack catalog service.`,
      anyOf: [
        { type: 'string', enum: FIXED_CONDITION_TYPES },
        { type: 'string', pattern: '^Service:.+' },
      ],
    },
    layer: { type: 'string', enum: HEALTH_LAYERS, description: 'The layer the condition belongs to, lowest first.' },
    status: { type: 'string', enum: CONDITION_STATUSES, description: 'Whether the condition holds; Unknown when it could not be checked.' },
    severity: {
      type: 'string',
      enum: CONDITION_SEVERITIES,
      description: 'What a False status means: error (the VIM is UNREACHABLE, health DOWN), warning (health DEGRADED), info (reported only).',
    },
    reason: { type: 'string', description: 'Short human text; never a secret.' },
    since: { ...timestamp, description: 'Last change of `status` (UTC, Tacker format).' },
    last_checked: { ...timestamp, description: 'Last check (UTC, Tacker format).' },
  },
} as const;

export const healthSchema = {
  $id: 'VimHealth',
  type: ['string', 'null'],
  enum: [...HEALTH_VALUES, null],
  description: 'Derived from the conditions: DOWN if an error condition is False, DEGRADED if only a warning one is, else OK; null until the first round.',
} as const;

export const failingLayerSchema = {
  $id: 'VimFailingLayer',
  type: ['string', 'null'],
  enum: [...HEALTH_LAYERS, null],
  description: 'The first layer (network, tls, identity, authentication, services, capacity) with a False required condition; null when none fails.',
} as const;

const figure = { type: 'number' } as const;

export const capacitySchema = {
  $id: 'VimCapacity',
  type: ['object', 'null'],
  description: 'Free capacity measured by the deep checks, per resource class (OpenStack Placement: VCPU, MEMORY_MB, DISK_GB; Kubernetes: cpu, memory); null until measured.',
  required: ['resources', 'checked_at'],
  // Further optional figures may be added (e.g. quotas); clients ignore what they do not know.
  additionalProperties: true,
  properties: {
    resources: {
      type: 'object',
      description: 'By resource class.',
      additionalProperties: {
        type: 'object',
        required: ['total', 'used', 'free'],
        additionalProperties: false,
        properties: { total: figure, used: figure, free: figure },
      },
    },
    quotas: {
      type: 'object',
      description: 'Optional: project quotas by resource class, where measured.',
      additionalProperties: {
        type: 'object',
        additionalProperties: true,
        properties: { limit: { type: ['number', 'null'] }, used: { type: ['number', 'null'] }, free: { type: ['number', 'null'] } },
      },
    },
    checked_at: { ...timestamp, description: 'When the figures were measured (UTC, Tacker format).' },
  },
} as const;

export const probeDetailsSchema = {
  $id: 'ProbeDetails',
  type: 'object',
  description: 'What each probe last saw, by probe name.',
  additionalProperties: false,
  properties: Object.fromEntries(
    PROBE_NAMES.map((probe) => [
      probe,
      {
        type: 'object',
        additionalProperties: false,
        required: ['ok', 'latency_ms', 'reason', 'checked_at', 'consecutive_failures', 'consecutive_successes'],
        properties: {
          ok: { type: 'boolean' },
          latency_ms: { type: ['number', 'null'] },
          reason: { type: 'string' },
          checked_at: timestamp,
          consecutive_failures: { type: 'integer' },
          consecutive_successes: { type: 'integer' },
        },
      },
    ]),
  ),
} as const;

/** Added to the server with app.addSchema, before any route refers to them. */
export const HEALTH_COMPONENTS = [conditionSchema, healthSchema, failingLayerSchema, capacitySchema, probeDetailsSchema] as const;

export const ref = (schema: { $id: string }) => ({ $ref: `${schema.$id}#` }) as const;
