import { EVENT_TYPES, HEALTH_EVENT_TYPE, ISOLATION_EVENT_TYPE, STATUS_EVENT_TYPE } from '../../events/wire.js';
import { VIM_STATUSES } from '../../vims/model.js';
import { conditionSchema, failingLayerSchema, healthSchema, HEALTH_VALUES, probeDetailsSchema, ref } from '../health-schemas.js';

/** event_details of a status change: Tacker's MONITOR event. */
const statusDetails = {
  type: 'object',
  title: 'MONITOR event details',
  additionalProperties: false,
  required: ['old_status', 'new_status', 'reason', 'monitor_id', 'probes'],
  properties: {
    old_status: { type: 'string', enum: VIM_STATUSES },
    new_status: { type: 'string', enum: VIM_STATUSES },
    reason: { type: 'string' },
    monitor_id: { type: 'string' },
    probes: ref(probeDetailsSchema),
  },
} as const;

/** event_details of a condition change (HEALTH). */
const healthDetails = {
  type: 'object',
  title: 'HEALTH event details',
  additionalProperties: false,
  required: ['old_health', 'new_health', 'failing_layer', 'changed', 'reason', 'monitor_id', 'conditions'],
  properties: {
    old_health: ref(healthSchema),
    new_health: { type: 'string', enum: HEALTH_VALUES },
    failing_layer: ref(failingLayerSchema),
    changed: { type: 'array', items: { type: 'string' }, description: 'The condition types that appeared, went away or changed status or severity.' },
    reason: { type: 'string' },
    monitor_id: { type: 'string' },
    conditions: { type: 'array', items: ref(conditionSchema), description: "The VIM's conditions after the change." },
  },
} as const;

/** event_details of a worker's isolation (ISOLATION, resource_type worker; issue 11). */
const isolationDetails = {
  type: 'object',
  title: 'ISOLATION event details',
  additionalProperties: false,
  required: ['old_state', 'new_state', 'reason', 'cause', 'failing', 'recent', 'share', 'canaries'],
  properties: {
    old_state: { type: 'string' },
    new_state: { type: 'string', enum: ['ISOLATED', 'NORMAL'] },
    reason: { type: 'string' },
    cause: { type: ['string', 'null'], enum: ['canaries', 'failing_share', null], description: 'What tripped the isolation (null when it ends).' },
    failing: { type: 'integer', description: "The worker's VIMs whose latest round in the window failed." },
    recent: { type: 'integer', description: "The worker's VIMs with a round in the window." },
    share: { type: 'number' },
    canaries: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['canary', 'ok'],
        properties: { canary: { type: 'string' }, ok: { type: ['boolean', 'null'] } },
      },
    },
  },
} as const;

/**
 * One event as GET /v1.0/events lists it (events/wire.ts: the same shape as
 * SSE and webhook bodies). For the OpenAPI document only (server.ts).
 */
export const eventSchema = {
  $id: 'VimEvent',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'resource_id', 'resource_name', 'resource_type', 'resource_state', 'event_type', 'timestamp', 'tenant_id', 'event_details'],
  properties: {
    id: { type: 'integer', description: 'Stable: a consumer can de-duplicate a redelivery by it.' },
    resource_id: { type: 'string', description: 'The VIM id (the worker name for ISOLATION).' },
    resource_name: { type: 'string', description: "The VIM's name when the change was stored (the worker name for ISOLATION)." },
    resource_type: { type: 'string', enum: ['vim', 'worker'] },
    resource_state: {
      type: 'string',
      enum: [...VIM_STATUSES, 'ISOLATED', 'NORMAL'],
      description: "The VIM's status after the event (unchanged by a HEALTH event); for ISOLATION the worker's state, ISOLATED or NORMAL.",
    },
    event_type: {
      type: 'string',
      enum: EVENT_TYPES,
      description: `${STATUS_EVENT_TYPE}: a status change (Tacker's); ${HEALTH_EVENT_TYPE}: a condition change; ${ISOLATION_EVENT_TYPE}: a worker entered or left isolation (administrators only, listed when asked for).`,
    },
    timestamp: { type: 'string', description: 'UTC, Tacker format `YYYY-MM-DD hh:mm:ss.ffffff`' },
    tenant_id: { type: 'string' },
    held_by: {
      type: 'string',
      enum: ['maintenance', 'flapping'],
      description:
        "Only on an event stored while the VIM's notifications were held (a maintenance window, flapping): kept in the history, sent to no webhook or AMQP channel unless its filter has include_held.",
    },
    event_details: { anyOf: [statusDetails, healthDetails, isolationDetails] },
  },
} as const;

export const eventListResponse = {
  description: 'Events of the VIMs the caller may see, oldest first',
  type: 'object',
  additionalProperties: false,
  required: ['events'],
  properties: { events: { type: 'array', items: ref(eventSchema) } },
} as const;
