import { describe, expect, it } from 'vitest';
import type { VimEvent } from '../vim-event.js';
import { parseBrokerUrl, redactAmqpUrl, scrubSecrets } from './amqp-config.js';
import {
  buildNotification,
  encodeEnvelope,
  notificationMessageId,
  OSLO_MESSAGE_PROPERTIES,
  osloEnvelope,
  osloTimestamp,
  priorityFor,
  pythonJsonDumps,
  routingKeys,
} from './oslo-envelope.js';

const event: VimEvent = {
  id: 42,
  vimId: '6261579e-d6f3-49ad-8bc3-a9cb974778ff',
  vimName: 'edge-1 \u00e9\u{1F600} "q" \\ \n\x7f',
  tenantId: 't1',
  monitorId: 'mon-1',
  oldStatus: 'REACHABLE',
  newStatus: 'UNREACHABLE',
  reason: 'icmp: 100% packet loss',
  probes: {
    icmp: { ok: false, latency_ms: null, reason: '100% packet loss', checked_at: '2026-01-31 12:00:00.100000', consecutive_failures: 3, consecutive_successes: 0 },
    api: { ok: true, latency_ms: 12.5, reason: 'HTTP 300', checked_at: '2026-01-31 12:00:00.110000', consecutive_failures: 0, consecutive_successes: 7 },
  },
  timestamp: '2026-01-31 12:00:00.123456',
};

/**
 * What oslo.messaging 14.0.3 + kombu 5.2.4 (Debian 12) send for the same
 * notification: serialize_msg() of the message dict, encoded by kombu's json
 * serializer, with MID and UID standing for the message id and _unique_id.
 */
const OSLO_BYTES = String.raw`{"oslo.version": "2.0", "oslo.message": "{\"message_id\": \"MID\", \"publisher_id\": \"vim-monitor.host-1\", \"event_type\": \"vim.status.update\", \"priority\": \"WARN\", \"payload\": {\"vim_id\": \"6261579e-d6f3-49ad-8bc3-a9cb974778ff\", \"vim_name\": \"edge-1 \\u00e9\\ud83d\\ude00 \\\"q\\\" \\\\ \\n\\u007f\", \"tenant_id\": \"t1\", \"old_status\": \"REACHABLE\", \"new_status\": \"UNREACHABLE\", \"reason\": \"icmp: 100% packet loss\", \"monitor_id\": \"mon-1\", \"event_id\": 42, \"timestamp\": \"2026-01-31 12:00:00.123456\", \"probes\": {\"icmp\": {\"ok\": false, \"latency_ms\": null, \"reason\": \"100% packet loss\", \"checked_at\": \"2026-01-31 12:00:00.100000\", \"consecutive_failures\": 3, \"consecutive_successes\": 0}, \"api\": {\"ok\": true, \"latency_ms\": 12.5, \"reason\": \"HTTP 300\", \"checked_at\": \"2026-01-31 12:00:00.110000\", \"consecutive_failures\": 0, \"consecutive_successes\": 7}}}, \"timestamp\": \"2026-01-31 12:00:00.123456\", \"_unique_id\": \"UID\"}"}`;

describe('the oslo.messaging 2.0 envelope', () => {
  it('is byte for byte what oslo.messaging and kombu send for the same notification', () => {
    const notification = buildNotification(event, { publisherId: 'vim-monitor.host-1' });
    const expected = OSLO_BYTES.replace('MID', notification.message_id).replace('UID', notification._unique_id);
    expect(encodeEnvelope(notification).toString('utf8')).toBe(expected);
    expect(encodeEnvelope(notification).toString('latin1')).toBe(expected); // pure ASCII, as ensure_ascii makes it
  });

  it('has exactly the keys oslo.version "2.0" and oslo.message, a JSON string of the notification', () => {
    const notification = buildNotification(event, { publisherId: 'vim-monitor.host-1' });
    const envelope = JSON.parse(encodeEnvelope(notification).toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(envelope)).toEqual(['oslo.version', 'oslo.message']);
    expect(envelope['oslo.version']).toBe('2.0');
    expect(typeof envelope['oslo.message']).toBe('string');
    const inner = JSON.parse(envelope['oslo.message'] as string) as Record<string, unknown>;
    expect(Object.keys(inner)).toEqual(['message_id', 'publisher_id', 'event_type', 'priority', 'payload', 'timestamp', '_unique_id']);
    expect(inner).toEqual({
      message_id: notificationMessageId(event),
      publisher_id: 'vim-monitor.host-1',
      event_type: 'vim.status.update',
      priority: 'WARN',
      payload: {
        vim_id: event.vimId,
        vim_name: event.vimName,
        tenant_id: 't1',
        old_status: 'REACHABLE',
        new_status: 'UNREACHABLE',
        reason: 'icmp: 100% packet loss',
        monitor_id: 'mon-1',
        event_id: 42,
        timestamp: '2026-01-31 12:00:00.123456',
        probes: event.probes,
      },
      timestamp: '2026-01-31 12:00:00.123456',
      _unique_id: notification._unique_id,
    });
    expect(notification._unique_id).toMatch(/^[0-9a-f]{32}$/);
    expect(osloEnvelope(notification)['oslo.message']).toBe(envelope['oslo.message']);
  });

  it('gives a redelivered event the same message_id (and, like oslo, a new _unique_id), and another event or VIM another message_id', () => {
    const id = notificationMessageId(event);
    const first = buildNotification(event, { publisherId: 'x' });
    const again = buildNotification(event, { publisherId: 'x' });
    expect(again.message_id).toBe(first.message_id);
    expect(again._unique_id).not.toBe(first._unique_id);
    // Python: uuid.uuid5(UUID('5d25b7a6-5544-4eaf-9df7-a9e3366ada62'), 'vim-event:<vim id>:42')
    expect(id).toBe('10659294-1182-50f2-9e2f-2039c2ba6e2c');
    expect(buildNotification({ ...event }, { publisherId: 'x' }).message_id).toBe(id);
    expect(notificationMessageId({ ...event, id: 43 })).not.toBe(id);
    expect(notificationMessageId({ ...event, vimId: '00000000-0000-4000-8000-000000000000' })).not.toBe(id);
  });

  it('sends REACHABLE and PENDING as INFO and UNREACHABLE as WARN, unless configured otherwise', () => {
    expect(priorityFor('REACHABLE')).toBe('INFO');
    expect(priorityFor('PENDING')).toBe('INFO');
    expect(priorityFor('UNREACHABLE')).toBe('WARN');
    const custom = { pending: 'DEBUG', reachable: 'AUDIT', unreachable: 'ERROR' } as const;
    expect(buildNotification({ ...event, newStatus: 'UNREACHABLE' }, { publisherId: 'p', priorities: custom }).priority).toBe('ERROR');
    expect(buildNotification({ ...event, newStatus: 'REACHABLE' }, { publisherId: 'p', priorities: custom }).priority).toBe('AUDIT');
  });

  it('sends a condition change as vim.health.update with the health change, WARN unless back to OK, and a status change as before', () => {
    const at = '2026-01-31 12:00:00.123456';
    const health: VimEvent = {
      ...event,
      id: 43,
      kind: 'health',
      oldStatus: 'REACHABLE',
      newStatus: 'REACHABLE',
      reason: 'services failed: Service:compute: HTTP 503',
      probes: {},
      health: {
        oldHealth: 'OK',
        newHealth: 'DEGRADED',
        failingLayer: 'services',
        changed: ['Service:compute'],
        conditions: [{ type: 'Service:compute', layer: 'services', status: 'False', severity: 'warning', reason: 'HTTP 503', since: at, last_checked: at }],
      },
    };
    const notification = buildNotification(health, { publisherId: 'vim-monitor.host-1' });
    expect(Object.keys(notification)).toEqual(['message_id', 'publisher_id', 'event_type', 'priority', 'payload', 'timestamp', '_unique_id']);
    expect(notification).toMatchObject({
      event_type: 'vim.health.update',
      priority: 'WARN',
      payload: {
        vim_id: event.vimId,
        status: 'REACHABLE',
        old_health: 'OK',
        new_health: 'DEGRADED',
        failing_layer: 'services',
        changed: ['Service:compute'],
        reason: 'services failed: Service:compute: HTTP 503',
        event_id: 43,
        conditions: health.health!.conditions,
      },
    });
    expect(buildNotification({ ...health, health: { ...health.health!, newHealth: 'OK' } }, { publisherId: 'p' }).priority).toBe('INFO');
    expect(buildNotification(event, { publisherId: 'p' }).event_type).toBe('vim.status.update');
  });

  it('routes to <topic>.<priority in lower case> for every topic, as oslo does', () => {
    expect(routingKeys(['notifications'], 'INFO')).toEqual(['notifications.info']);
    expect(routingKeys(['notifications', 'vim_monitor'], 'WARN')).toEqual(['notifications.warn', 'vim_monitor.warn']);
  });

  it('writes the timestamp as Python str(datetime) does, without a zero fraction', () => {
    expect(osloTimestamp('2026-01-31 12:00:00.123456')).toBe('2026-01-31 12:00:00.123456');
    expect(osloTimestamp('2026-01-31 12:00:00.000000')).toBe('2026-01-31 12:00:00');
    expect(buildNotification({ ...event, timestamp: '2026-01-31 12:00:00.000000' }, { publisherId: 'p' }).payload.timestamp).toBe(
      '2026-01-31 12:00:00.000000',
    );
  });

  it('carries the AMQP properties kombu gives oslo notifications', () => {
    expect(OSLO_MESSAGE_PROPERTIES).toEqual({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: {},
      deliveryMode: 2,
      priority: 0,
      mandatory: false,
    });
  });
});

describe('Python-compatible JSON', () => {
  it('uses Python separators and escapes everything outside printable ASCII', () => {
    expect(pythonJsonDumps({ a: [1, 2.5, null, true], 'b\u2028': 'x\u0000\u{10FFFF}' })).toBe('{"a": [1, 2.5, null, true], "b\\u2028": "x\\u0000\\udbff\\udfff"}');
    expect(pythonJsonDumps({ skip: undefined, n: Number.NaN })).toBe('{"n": null}');
    expect(JSON.parse(pythonJsonDumps(event))).toEqual(JSON.parse(JSON.stringify(event)));
  });
});

describe('broker URLs', () => {
  it('never show the password, in any of the accepted forms', () => {
    const parsed = parseBrokerUrl('rabbit://nova:s%3Acr%40t@mq.example:5672/openstack', { heartbeat: 60 });
    expect(parsed.display).toBe('amqp://nova:***@mq.example:5672/openstack');
    expect(parsed.connectUrl).toBe('amqp://nova:s%3Acr%40t@mq.example:5672/openstack?heartbeat=60');
    expect(parsed.secrets).toEqual(['s%3Acr%40t', 's:cr@t']);
    expect(scrubSecrets('login s:cr@t refused', parsed.secrets)).toBe('login *** refused');
    expect(redactAmqpUrl('amqps://u:pw@[::1]:5671')).toBe('amqps://u:***@[::1]:5671/');
    expect(redactAmqpUrl('amqp://u:pw@host')).not.toContain('pw');
    expect(() => parseBrokerUrl('http://u:topsecret@host/')).toThrow(/amqp:\/\//);
    let message = '';
    try {
      parseBrokerUrl('amqp://u:topsecret@ho st:99999/');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain('topsecret');
  });
});
