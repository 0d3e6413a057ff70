/**
 * OpenStack notifications byte for byte as oslo.messaging's `messagingv2`
 * notification driver sends them over its rabbit driver (oslo.messaging 14,
 * kombu 5): notify/notifier.py builds the notification, _drivers/amqpdriver.py
 * adds `_unique_id` (and `_context_*` keys, none here: the context is empty),
 * _drivers/common.py serialize_msg wraps it in the 2.0 envelope, and kombu's
 * json serializer encodes the envelope. Pure functions, no I/O: the AMQP side
 * is in amqp.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Condition, ConditionType, Health, HealthLayer } from '../../health/condition.js';
import type { VimStatus } from '../../vims/model.js';
import type { ProbeDetails } from '../../monitors/status-change.js';
import type { VimEvent } from '../vim-event.js';

export const OSLO_EVENT_TYPE = 'vim.status.update';
/** A change of a VIM's conditions (issue 10 layered health). */
export const OSLO_HEALTH_EVENT_TYPE = 'vim.health.update';
/** A worker cut off from its own network (issue 11 isolation guard), and the end of it. */
export const OSLO_ISOLATED_EVENT_TYPE = 'monitor.isolated';
export const OSLO_ISOLATION_ENDED_EVENT_TYPE = 'monitor.isolation_ended';

/** What oslo's Notifier methods put in `priority` (audit(), debug(), info(), warn(), …). */
export const OSLO_PRIORITIES = ['AUDIT', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SAMPLE'] as const;
export type OsloPriority = (typeof OSLO_PRIORITIES)[number];

/** Which priority a change is sent with, by its new status. */
export interface PriorityMap {
  pending: OsloPriority;
  reachable: OsloPriority;
  unreachable: OsloPriority;
}

export const DEFAULT_PRIORITIES: PriorityMap = { pending: 'INFO', reachable: 'INFO', unreachable: 'WARN' };

/** The notification's payload: one VIM status change. */
export interface VimStatusPayload {
  vim_id: string;
  vim_name: string;
  tenant_id: string;
  old_status: VimStatus;
  new_status: VimStatus;
  reason: string;
  monitor_id: string;
  /** VimEvent.id: the same on every redelivery of one change. */
  event_id: number;
  /** When the change was decided, Tacker format (UTC, `YYYY-MM-DD hh:mm:ss.ffffff`). */
  timestamp: string;
  probes: ProbeDetails;
}

/** The payload of `vim.health.update`: one change of a VIM's conditions. */
export interface VimHealthPayload {
  vim_id: string;
  vim_name: string;
  tenant_id: string;
  /** The VIM's status, which this change did not move. */
  status: VimStatus;
  old_health: Health | null;
  new_health: Health;
  failing_layer: HealthLayer | null;
  changed: ConditionType[];
  reason: string;
  monitor_id: string;
  event_id: number;
  timestamp: string;
  conditions: Condition[];
}

/** The payload of `monitor.isolated` / `monitor.isolation_ended`: a worker's, not a VIM's. */
export interface WorkerIsolationPayload {
  worker: string;
  old_state: string;
  new_state: string;
  reason: string;
  cause: string | null;
  failing: number;
  recent: number;
  share: number;
  event_id: number;
  timestamp: string;
}

/** The message inside the envelope, in oslo's key order. */
export interface OsloNotification {
  message_id: string;
  publisher_id: string;
  event_type: string;
  priority: OsloPriority;
  payload: VimStatusPayload | VimHealthPayload | WorkerIsolationPayload;
  timestamp: string;
  /**
   * Added by oslo's AMQP driver (rpc_amqp._add_unique_id): uuid4().hex, new for
   * every publish. A listener pops it and drops a message whose _unique_id it
   * acknowledged among its last 16, meant for a broker redelivering one AMQP
   * message; so it must not repeat across our redeliveries (a listener would
   * then drop some of them, depending on timing). De-duplication of events is
   * by message_id.
   */
  _unique_id: string;
}

/** serialize_msg's envelope: the notification travels as a JSON string. */
export interface OsloEnvelope {
  'oslo.version': '2.0';
  'oslo.message': string;
}

/**
 * The AMQP basic properties kombu gives the message: JSON in UTF-8, persistent
 * (delivery mode 2: kombu's default for an Exchange without a delivery_mode),
 * empty headers, priority 0. Not mandatory (oslo passes mandatory=False for
 * notifications).
 */
export const OSLO_MESSAGE_PROPERTIES = Object.freeze({
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  headers: {},
  deliveryMode: 2,
  priority: 0,
  mandatory: false,
});

/** Fixed namespace of the name-based (v5) message ids; never change it, or redeliveries stop matching. */
const MESSAGE_ID_NAMESPACE = '5d25b7a6-5544-4eaf-9df7-a9e3366ada62';

/**
 * The notification's `message_id`: a UUID like oslo's, but name-based (v5) on
 * the VIM id and the event id instead of random, so every redelivery of one
 * change carries the same id and a consumer can de-duplicate on it.
 */
export function notificationMessageId(event: Pick<VimEvent, 'id' | 'vimId'>): string {
  return uuidV5(MESSAGE_ID_NAMESPACE, `vim-event:${event.vimId}:${event.id}`);
}

export function priorityFor(status: VimStatus, priorities: PriorityMap = DEFAULT_PRIORITIES): OsloPriority {
  switch (status) {
    case 'PENDING':
      return priorities.pending;
    case 'REACHABLE':
      return priorities.reachable;
    case 'UNREACHABLE':
      return priorities.unreachable;
  }
}

/** `<topic>.<priority in lower case>` per topic, as MessagingDriver.notify builds its targets. */
export function routingKeys(topics: readonly string[], priority: OsloPriority): string[] {
  return topics.map((topic) => `${topic}.${priority.toLowerCase()}`);
}

export function vimStatusPayload(event: VimEvent): VimStatusPayload {
  return {
    vim_id: event.vimId,
    vim_name: event.vimName,
    tenant_id: event.tenantId,
    old_status: event.oldStatus,
    new_status: event.newStatus,
    reason: event.reason,
    monitor_id: event.monitorId,
    event_id: event.id,
    timestamp: event.timestamp,
    probes: event.probes,
  };
}

export function vimHealthPayload(event: VimEvent): VimHealthPayload {
  const health = event.health;
  return {
    vim_id: event.vimId,
    vim_name: event.vimName,
    tenant_id: event.tenantId,
    status: event.newStatus,
    old_health: health?.oldHealth ?? null,
    new_health: health?.newHealth ?? 'OK',
    failing_layer: health?.failingLayer ?? null,
    changed: health?.changed ?? [],
    reason: event.reason,
    monitor_id: event.monitorId,
    event_id: event.id,
    timestamp: event.timestamp,
    conditions: health?.conditions ?? [],
  };
}

export function workerIsolationPayload(event: VimEvent): WorkerIsolationPayload {
  const isolation = event.isolation;
  return {
    worker: isolation?.worker ?? event.vimName,
    old_state: isolation?.oldState ?? '',
    new_state: isolation?.newState ?? '',
    reason: event.reason,
    cause: isolation?.cause ?? null,
    failing: isolation?.failing ?? 0,
    recent: isolation?.recent ?? 0,
    share: isolation?.share ?? 0,
    event_id: event.id,
    timestamp: event.timestamp,
  };
}

/** A health change goes with the priority of an unreachable VIM unless it is back to OK. */
export function healthPriorityFor(health: Health, priorities: PriorityMap = DEFAULT_PRIORITIES): OsloPriority {
  return health === 'OK' ? priorities.reachable : priorities.unreachable;
}

export function buildNotification(
  event: VimEvent,
  options: { publisherId: string; priorities?: PriorityMap; uniqueId?: string },
): OsloNotification {
  return {
    message_id: notificationMessageId(event),
    publisher_id: options.publisherId,
    ...(event.kind === 'isolation' && event.isolation
      ? {
          event_type: event.isolation.newState === 'ISOLATED' ? OSLO_ISOLATED_EVENT_TYPE : OSLO_ISOLATION_ENDED_EVENT_TYPE,
          priority: event.isolation.newState === 'ISOLATED' ? (options.priorities ?? DEFAULT_PRIORITIES).unreachable : (options.priorities ?? DEFAULT_PRIORITIES).reachable,
          payload: workerIsolationPayload(event),
        }
      : event.kind === 'health'
      ? {
          event_type: OSLO_HEALTH_EVENT_TYPE,
          priority: healthPriorityFor(event.health?.newHealth ?? 'OK', options.priorities),
          payload: vimHealthPayload(event),
        }
      : {
          event_type: OSLO_EVENT_TYPE,
          priority: priorityFor(event.newStatus, options.priorities),
          payload: vimStatusPayload(event),
        }),
    timestamp: osloTimestamp(event.timestamp),
    _unique_id: options.uniqueId ?? randomUUID().replaceAll('-', ''),
  };
}

export function osloEnvelope(notification: OsloNotification): OsloEnvelope {
  return { 'oslo.version': '2.0', 'oslo.message': pythonJsonDumps(notification) };
}

/** The AMQP message body: exactly the bytes kombu sends for oslo's envelope. */
export function encodeEnvelope(notification: OsloNotification): Buffer {
  return Buffer.from(pythonJsonDumps(osloEnvelope(notification)), 'utf8');
}

/**
 * oslo's `timestamp` is `str(datetime.utcnow())`: `YYYY-MM-DD hh:mm:ss.ffffff`,
 * without the fraction when the microseconds are 0. The event's own time is
 * used (not the sending time), so a redelivery says when the change happened.
 * Anything that is not a Tacker timestamp passes unchanged.
 */
export function osloTimestamp(tackerTimestamp: string): string {
  const match = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(\.\d{6})?$/.exec(tackerTimestamp);
  if (!match) return tackerTimestamp;
  return match[2] === undefined || match[2] === '.000000' ? (match[1] as string) : tackerTimestamp;
}

/**
 * JSON as Python's `json.dumps` writes it with default arguments (what
 * oslo_serialization.jsonutils.dumps and kombu use): `", "` and `": "` as
 * separators, and every character outside printable ASCII escaped as \uXXXX
 * (ensure_ascii; characters above U+FFFF as their surrogate pair). Values that
 * JSON cannot carry (undefined, functions) are dropped from objects and
 * written as null in arrays, as JSON.stringify does; non-finite numbers become null.
 */
export function pythonJsonDumps(value: unknown): string {
  const out = dumpValue(value);
  if (out === undefined) throw new TypeError('value is not JSON-serialisable');
  return out;
}

function dumpValue(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return dumpString(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      const withJson = value as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') return dumpValue(withJson.toJSON());
      if (Array.isArray(value)) return `[${value.map((item) => dumpValue(item) ?? 'null').join(', ')}]`;
      const parts: string[] = [];
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const encoded = dumpValue(item);
        if (encoded !== undefined) parts.push(`${dumpString(key)}: ${encoded}`);
      }
      return `{${parts.join(', ')}}`;
    }
    default:
      return undefined;
  }
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function dumpString(text: string): string {
  // Python's ESCAPE_ASCII: anything that is not ' '..'~', plus '"' and '\\'.
  return `"${text.replace(/[\\"]|[^ -~]/g, (char) => SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
