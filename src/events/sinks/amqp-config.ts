/**
 * Configuration of the AMQP notification sink (`notifications.amqp`): its
 * JSON-schema fragment with defaults and descriptions (for config/schema.ts;
 * the table in docs/notifications.md is generated from it), its type, and the
 * URL handling that keeps the password out of every message. Nothing here
 * loads amqplib.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { OSLO_PRIORITIES } from './oslo-envelope.js';

const priority = { enum: [...OSLO_PRIORITIES] } as const;

/** JSON-schema fragment for `notifications.amqp`, with every default. */
export const amqpNotificationsSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'OpenStack (oslo.messaging) notifications on AMQP, off by default',
  properties: {
    enabled: { type: 'boolean', default: false, description: 'publish notifications' },
    url: {
      type: 'string',
      pattern: '^(amqps?|rabbit)://[^/?#]',
      default: 'amqp://guest:guest@127.0.0.1:5672/',
      description:
        "broker: `amqp://user:pass@host:5672/vhost`, `amqps://…` (TLS, Node's CA store), or oslo's `rabbit://user:pass@host:5672/vhost` (one host). An empty path is the vhost `/` (as in oslo's `transport_url`); `%2F` also names it. Query parameters are passed to amqplib (`frameMax`, `channelMax`, `locale`, `heartbeat`). A secret: never logged",
    },
    exchange: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      default: 'openstack',
      description:
        "oslo's `control_exchange` (a topic exchange). `openstack` is oslo's default and one of the exchanges Ceilometer listens to; use your consumers' exchange otherwise",
    },
    topics: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 200 },
      default: ['notifications'],
      description: "oslo's `[oslo_messaging_notifications] topics`; one message per topic, routing key `<topic>.<priority>`",
    },
    publisher_id: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: "the notification's `publisher_id` (default `vim-monitor.<hostname>`)",
    },
    priorities: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        pending: { ...priority, default: 'INFO', description: 'priority of a change to `PENDING` (upper case, oslo\'s names)' },
        reachable: { ...priority, default: 'INFO', description: 'priority of a change to `REACHABLE`' },
        unreachable: { ...priority, default: 'WARN', description: 'priority of a change to `UNREACHABLE`; the routing key uses it in lower case (`notifications.warn`)' },
      },
    },
    durable: {
      type: 'boolean',
      default: false,
      description:
        "oslo's `amqp_durable_queues`: durability of the exchange and the declared queues. **Must match your listeners'** setting, or RabbitMQ refuses the second declaration (`PRECONDITION_FAILED - inequivalent arg 'durable'`) and deliveries fail with that message",
    },
    auto_delete: { type: 'boolean', default: false, description: "oslo's `amqp_auto_delete` for the exchange and the queues" },
    quorum_queues: {
      type: 'boolean',
      default: false,
      description: "oslo's `rabbit_quorum_queue`: declare the queues as quorum queues (implies durable)",
    },
    declare_queues: {
      type: 'boolean',
      default: true,
      description:
        "declare and bind the queue `<topic>.<priority>` before the first publish of each routing key on a connection, as oslo's notifier does, so notifications wait for a listener that is not running yet (needs `configure` permission on those queues)",
    },
    heartbeat: {
      type: 'integer',
      minimum: 0,
      maximum: 3600,
      default: 60,
      description: "AMQP heartbeat in seconds (oslo's `heartbeat_timeout_threshold`); `0` disables it",
    },
    connect_timeout: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 10,
      description: 'seconds for the TCP connection and the AMQP handshake',
    },
  },
} as const;

/** `notifications.amqp` after validation: every key with a default is present. */
export type AmqpNotificationsConfig = FromSchema<typeof amqpNotificationsSchema>;

/** Keys under the configuration root whose values are secrets (add to config/schema.ts secretConfigKeys). */
export const amqpSecretConfigKeys = ['notifications.amqp.url'] as const;

/** The defaults as a value, for callers that build a sink without the configuration loader (tests, tools). */
export function amqpNotificationsDefaults(overrides: Partial<AmqpNotificationsConfig> = {}): AmqpNotificationsConfig {
  return {
    enabled: false,
    url: 'amqp://guest:guest@127.0.0.1:5672/',
    exchange: 'openstack',
    topics: ['notifications'],
    priorities: { pending: 'INFO', reachable: 'INFO', unreachable: 'WARN' },
    durable: false,
    auto_delete: false,
    quorum_queues: false,
    declare_queues: true,
    heartbeat: 60,
    connect_timeout: 10,
    ...overrides,
  };
}

/** A broker URL taken apart once: what amqplib gets, what may be shown, and the secret to scrub. */
export interface BrokerAddress {
  /** amqp:// or amqps:// URL for amqplib, with the heartbeat as a query parameter. */
  connectUrl: string;
  /** The URL with the password replaced by `***`: the only form that appears in messages and logs. */
  display: string;
  /** Strings that must never appear in a message (the password as given and decoded). */
  secrets: string[];
}

/**
 * Parses the configured URL. Throws an Error whose message never contains the
 * URL's password (nor the URL, which may be unparseable around it).
 */
export function parseBrokerUrl(url: string, options: { heartbeat?: number } = {}): BrokerAddress {
  const scheme = /^(amqps?|rabbit):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (!scheme) throw new Error('AMQP URL must start with amqp://, amqps:// or rabbit://');
  let parsed: URL;
  try {
    // amqplib parses amqp: URLs with WHATWG URL too (a non-special scheme: no default port, opaque host).
    parsed = new URL(`amqp://${url.slice(scheme.length + 3)}`);
  } catch {
    throw new Error(`AMQP URL is not a valid URL (${scheme}://…, not shown: it may hold a password)`);
  }
  if (!parsed.hostname) throw new Error('AMQP URL has no host');
  const protocol = scheme === 'amqps' ? 'amqps' : 'amqp';
  const rawPassword = parsed.password;
  const secrets = new Set<string>();
  if (rawPassword) {
    secrets.add(rawPassword);
    try {
      secrets.add(decodeURIComponent(rawPassword));
    } catch {
      // not valid percent-encoding: the raw form is what could leak
    }
  }
  const authority = (password: string): string =>
    parsed.username || rawPassword ? `${parsed.username}${rawPassword ? `:${password}` : ''}@` : '';
  const hostPort = `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}`;
  // An empty path ('' or '/') is the vhost '/' for amqplib as for oslo/kombu; '/%2F' names it explicitly.
  const path = parsed.pathname === '' ? '/' : parsed.pathname;
  const query = new URLSearchParams(parsed.search);
  if (options.heartbeat !== undefined && !query.has('heartbeat')) query.set('heartbeat', String(options.heartbeat));
  const search = query.size > 0 ? `?${query.toString()}` : '';
  return {
    connectUrl: `${protocol}://${authority(rawPassword)}${hostPort}${path}${search}`,
    display: `${protocol}://${authority('***')}${hostPort}${path}`,
    secrets: [...secrets].filter((secret) => secret.length > 0),
  };
}

/** Replaces every occurrence of a secret in a text by `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join('***');
  return result;
}

/** The URL with its password replaced by `***` (or a placeholder when it cannot be parsed). */
export function redactAmqpUrl(url: string): string {
  try {
    return parseBrokerUrl(url).display;
  } catch {
    return '(unparseable AMQP URL, not shown)';
  }
}
