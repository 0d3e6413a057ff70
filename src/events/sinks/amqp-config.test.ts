import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { amqpNotificationsDefaults, amqpNotificationsSchema, type AmqpNotificationsConfig } from './amqp-config.js';

/** Validated as config/load.ts validates the whole configuration: strict, filling defaults. */
function validate(value: unknown): { ok: boolean; value: unknown; error?: string } {
  const ajv = new Ajv({ useDefaults: true, allErrors: false, coerceTypes: false, strict: true });
  const check = ajv.compile({ type: 'object', additionalProperties: false, properties: { amqp: amqpNotificationsSchema } });
  const copy = structuredClone(value) as Record<string, unknown>;
  const ok = check(copy);
  return { ok, value: copy['amqp'], ...(check.errors?.[0] && { error: `${check.errors[0].instancePath} ${check.errors[0].message}` }) };
}

describe('the notifications.amqp schema fragment', () => {
  it('compiles in Ajv strict mode and fills exactly the documented defaults', () => {
    const result = validate({});
    expect(result.ok).toBe(true);
    expect(result.value).toEqual(amqpNotificationsDefaults());
    const typed: AmqpNotificationsConfig = result.value as AmqpNotificationsConfig;
    expect(typed.exchange).toBe('openstack');
    expect(typed.topics).toEqual(['notifications']);
    expect(typed.priorities).toEqual({ pending: 'INFO', reachable: 'INFO', unreachable: 'WARN' });
  });

  it('keeps given values and fills the rest of a partial section', () => {
    const result = validate({ amqp: { enabled: true, url: 'rabbit://nova:pw@mq:5672/', priorities: { unreachable: 'ERROR' }, topics: ['a', 'b'] } });
    expect(result.ok).toBe(true);
    expect(result.value).toMatchObject({
      enabled: true,
      url: 'rabbit://nova:pw@mq:5672/',
      topics: ['a', 'b'],
      priorities: { pending: 'INFO', reachable: 'INFO', unreachable: 'ERROR' },
      durable: false,
    });
  });

  it('rejects an unknown key, a lower-case or unknown priority, a URL of another scheme and an empty topic list', () => {
    expect(validate({ amqp: { exchnage: 'x' } }).ok).toBe(false);
    expect(validate({ amqp: { priorities: { unreachable: 'warn' } } }).ok).toBe(false);
    expect(validate({ amqp: { priorities: { unreachable: 'WARNING' } } }).ok).toBe(false);
    expect(validate({ amqp: { url: 'http://mq:5672/' } }).ok).toBe(false);
    expect(validate({ amqp: { topics: [] } }).ok).toBe(false);
    expect(validate({ amqp: { heartbeat: -1 } }).ok).toBe(false);
  });
});
