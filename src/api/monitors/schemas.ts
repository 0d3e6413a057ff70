import type { FromSchema } from 'json-schema-to-ts';
import { VIM_STATUSES } from '../../vims/model.js';
import { maintenanceStateSchema } from '../maintenances/schemas.js';
import { capacitySchema, conditionSchema, failingLayerSchema, healthSchema, probeDetailsSchema, ref } from '../health-schemas.js';

const timestamp = { type: 'string', description: 'UTC, Tacker format `YYYY-MM-DD hh:mm:ss.ffffff`' } as const;
const nullableTimestamp = { type: ['string', 'null'], description: 'UTC, Tacker format; null until known' } as const;

/**
 * A monitor as GET /v1.0/vims/{id}/monitor and GET /v1.0/monitors show it
 * (monitors/monitor-view.ts): live from this process (every attribute), or
 * `state: remote` from the database row of a monitor another worker runs
 * (no status, probes, failing_layer or settings then).
 * For the OpenAPI document only (server.ts); closed, like the VIM's.
 */
export const monitorSchema = {
  $id: 'Monitor',
  type: 'object',
  additionalProperties: false,
  required: ['monitor_id', 'vim_id', 'owner', 'replacements', 'state', 'conditions', 'health', 'capacity'],
  properties: {
    monitor_id: { type: 'string' },
    vim_id: { type: 'string' },
    owner: { type: 'string', description: 'The worker that runs the monitor.' },
    replacements: { type: 'integer', description: 'Times the sweep replaced a stuck monitor of this VIM.' },
    state: {
      type: 'string',
      enum: ['starting', 'idle', 'checking', 'crashed', 'stopped', 'remote'],
      description: '`remote`: run by another worker; only what the database knows is shown.',
    },
    dispatched_at: { ...timestamp, description: 'Remote monitors only: when the monitor was dispatched.' },
    status: { type: 'string', enum: VIM_STATUSES, description: 'Live monitors only.' },
    status_since: { ...timestamp, description: 'Live monitors only.' },
    heartbeat_at: nullableTimestamp,
    last_round_at: nullableTimestamp,
    next_round_at: nullableTimestamp,
    consecutive_failures: { type: 'integer' },
    consecutive_successes: { type: 'integer' },
    probes: ref(probeDetailsSchema),
    conditions: {
      type: 'array',
      items: ref(conditionSchema),
      description: "Live: as of the monitor's latest round (reasons and last_checked from it). Remote: as last stored on the VIM.",
    },
    health: ref(healthSchema),
    failing_layer: ref(failingLayerSchema),
    capacity: ref(capacitySchema),
    held: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['reason', 'since'],
      properties: { reason: { type: 'string' }, since: timestamp },
      description: 'Live monitors only: set while the thresholds say UNREACHABLE but a verdict gate (isolation guard, confirmation by other workers) holds the status; why and since when.',
    },
    settings: { type: 'object', additionalProperties: true, description: 'Live monitors only: the effective monitor settings (global defaults with the VIM override).' },
    maintenance: maintenanceStateSchema,
    flapping: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['since', 'changes'],
      properties: { since: timestamp, changes: { type: 'integer', description: 'Status changes within flap.window when last counted.' } },
      description: 'Live monitors only: set while the VIM flaps (more than flap.max_changes status changes within flap.window): receivers get at most one status per window.',
    },
    isolation: {
      type: 'string',
      enum: ['normal', 'isolated', 'recovering', 'outage_grace'],
      description:
        "Live monitors only, where the isolation guard runs: the state of the worker that runs the monitor (anything but `normal` holds down verdicts, see GET /v1.0/manager/isolation).",
    },
  },
} as const;

const nullableTimestampOnly = { type: ['string', 'null'], description: 'UTC, Tacker format' } as const;

/** A worker's isolation guard as GET/PUT /v1.0/manager/isolation and GET /v1.0/manager show it (guard/isolation-guard.ts). */
export const isolationSchema = {
  $id: 'WorkerIsolation',
  type: 'object',
  additionalProperties: false,
  required: ['state', 'holding', 'acknowledged', 'cause', 'since', 'grace_until', 'failing', 'recent', 'share', 'max_failing_share', 'min_failing', 'canaries', 'outages'],
  properties: {
    state: {
      type: 'string',
      enum: ['normal', 'isolated', 'recovering', 'outage_grace'],
      description: '`isolated`: cut off from its own network; `recovering`: waiting for recovery_grace; `outage_grace`: during or just after a database or broker outage.',
    },
    holding: { type: 'boolean', description: 'Whether down verdicts are held now (isolated and not acknowledged, or a grace).' },
    acknowledged: { type: 'boolean', description: 'An administrator acknowledged this isolation: down verdicts apply.' },
    cause: { type: ['string', 'null'], enum: ['canaries', 'failing_share', null] },
    since: { ...nullableTimestampOnly, description: 'When the isolation (or outage grace) began.' },
    grace_until: { ...nullableTimestampOnly, description: 'When the current grace ends.' },
    failing: { type: 'integer', description: "This worker's VIMs whose latest round in the window failed." },
    recent: { type: 'integer', description: "This worker's VIMs with a round in the window." },
    share: { type: 'number' },
    max_failing_share: { type: 'number' },
    min_failing: { type: 'integer' },
    canaries: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['canary', 'probe', 'ok', 'reason', 'consecutive_failures'],
        properties: {
          canary: { type: 'string' },
          probe: { type: 'string' },
          ok: { type: ['boolean', 'null'] },
          reason: { type: ['string', 'null'] },
          consecutive_failures: { type: 'integer' },
        },
      },
    },
    outages: { type: 'array', items: { type: 'string' }, description: 'What is in an outage now: `database`, `broker`.' },
  },
} as const;

export const isolationResponse = {
  description: "The isolation guard of the worker that answers",
  type: 'object',
  additionalProperties: false,
  required: ['isolation'],
  properties: { isolation: ref(isolationSchema) },
} as const;

export const isolationAcknowledgeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['isolation'],
  properties: {
    isolation: {
      type: 'object',
      additionalProperties: false,
      required: ['acknowledged'],
      properties: { acknowledged: { type: 'boolean', description: 'true: let down verdicts through while isolated (a genuine mass outage); false: hold them again.' } },
    },
  },
} as const;

export type IsolationAcknowledgeBody = FromSchema<typeof isolationAcknowledgeBody>;

export const monitorShowResponse = {
  description: "The VIM's monitor",
  type: 'object',
  additionalProperties: false,
  required: ['monitor'],
  properties: { monitor: ref(monitorSchema) },
} as const;

export const monitorListResponse = {
  description: 'The monitors of the VIMs the caller may see',
  type: 'object',
  additionalProperties: false,
  required: ['monitors'],
  properties: { monitors: { type: 'array', items: ref(monitorSchema) } },
} as const;
