/**
 * The configuration's shape, defaults and documentation in one place. The
 * JSON schema drives validation, defaults and the environment variable
 * mapping (see load.ts); the interface is what the rest of the code reads.
 */
import { amqpNotificationsSchema, amqpSecretConfigKeys, type AmqpNotificationsConfig } from '../events/sinks/amqp-config.js';
import { DEFAULT_MONITOR_SETTINGS, monitorSettingsProperties, type MonitorSettings } from '../monitors/settings.js';

export type AuthStrategy = 'noauth' | 'keystone';
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface KeystoneAuthConfig {
  url: string;
  username: string;
  password: string;
  project_name: string;
  user_domain_name: string;
  project_domain_name: string;
  /** Seconds a validated token is trusted before Keystone is asked again. */
  cache_ttl: number;
  /** Roles that make a caller an administrator (sees and manages every tenant's VIMs). */
  admin_roles: string[];
  /** Seconds to wait for Keystone. */
  timeout: number;
}

export interface Config {
  server: {
    host: string;
    port: number;
    body_limit: number;
    /** Seconds a client may take to send a request's headers. */
    headers_timeout: number;
    /** Seconds a client may take to send a whole request (headers and body); not the response, so event streams are not cut. */
    request_timeout: number;
    /** Seconds an idle keep-alive connection is kept open between requests. */
    keep_alive_timeout: number;
    /** Open API connections (event streams included) beyond which new ones are closed at once. */
    max_connections: number;
    /** Seconds a shutdown waits for requests and event streams before cutting their connections. */
    shutdown_timeout: number;
  };
  database: { url: string; pool_size: number };
  auth: {
    strategy: AuthStrategy;
    /** Tenant that VIMs belong to when no authentication is used. */
    noauth: { project_id: string };
    keystone?: KeystoneAuthConfig;
  };
  secrets: { key_file: string; key?: string };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'; format: LogFormat };
  /** Defaults for every VIM's monitor; a VIM can override them in its monitor_settings. */
  monitor: MonitorSettings & {
    /** Fraction of the interval over which monitors' first rounds are spread at start-up, so VIMs do not fire together. */
    jitter: number;
    /** Seconds: rounds start on a common tick of this length, so one fping process serves every monitor due in it. */
    batch_window: number;
  };
  outbox: {
    /** Run event delivery in this process. */
    enabled: boolean;
    /** Seconds between delivery passes. */
    poll_interval: number;
    /** Seconds an event id must have been visible before readers move past it (commit order safety). */
    settle: number;
    /** First retry delay in seconds; doubles per failure with jitter, up to retry_cap. */
    retry_base: number;
    retry_cap: number;
    /** Seconds after which an event that still cannot be delivered is dead-lettered. */
    dead_letter_after: number;
    /** Seconds a worker's lease on a delivery channel lasts without renewal. */
    lease_ttl: number;
  };
  notifications: {
    /** OpenStack (oslo.messaging) notifications on AMQP; see docs/notifications.md. */
    amqp: AmqpNotificationsConfig;
  };
  webhooks: {
    /** Seconds a callback may take to acknowledge. */
    timeout: number;
    allow_loopback: boolean;
    allow_link_local: boolean;
  };
  manager: {
    /** Run monitors in this process (false: API only). */
    enabled: boolean;
    /** Seconds between sweeps that replace monitors which stopped processing and reconcile VIMs with monitors. */
    sweep_interval: number;
    /** Extra seconds past interval + timeout before a monitor whose round has not finished counts as stuck. */
    stall_grace: number;
    /** Seconds a worker's lease on a monitor lasts without renewal; a dead worker's monitors are taken over after lease_ttl + sweep_interval. */
    lease_ttl: number;
    /** Seconds between worker heartbeats (which renew the leases on a shared database). */
    heartbeat_interval: number;
    /** This worker's name in the workers table and as monitor owner (default host:pid:random). */
    worker_name?: string;
  };
}

const seconds = { type: 'number', exclusiveMinimum: 0 } as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 9890 },
        body_limit: { type: 'integer', minimum: 1024, default: 1_048_576 },
        headers_timeout: {
          ...seconds,
          default: 10,
          description: 'seconds a client may take to send the request headers (then 408 and the connection is closed)',
        },
        request_timeout: {
          ...seconds,
          default: 30,
          description:
            'seconds a client may take to send a whole request, body included (then 408 and the connection is closed); the response is not limited, so event streams last',
        },
        keep_alive_timeout: {
          ...seconds,
          default: 72,
          description: 'seconds an idle keep-alive connection stays open between requests (longer than the 60 s idle timeout of common proxies)',
        },
        max_connections: {
          type: 'integer',
          minimum: 1,
          default: 512,
          description:
            'open API connections, event streams included, beyond which new connections are closed at once; keep it well below the descriptor limit (LimitNOFILE), which probes and the database share',
        },
        shutdown_timeout: {
          ...seconds,
          default: 10,
          description:
            'seconds a shutdown waits for running requests and event streams to end before cutting their connections (the process then stores the last monitor results and exits)',
        },
      },
    },
    database: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: {
          type: 'string',
          pattern: '^(sqlite:|postgres(ql)?://|mysql://|mariadb://)',
          default: 'sqlite:./data/vim-monitor.db',
        },
        pool_size: { type: 'integer', minimum: 1, maximum: 200, default: 10 },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        strategy: { enum: ['noauth', 'keystone'], default: 'noauth' },
        noauth: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { project_id: { type: 'string', minLength: 1, maxLength: 64, default: 'admin' } },
        },
        keystone: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'username', 'password', 'project_name'],
          properties: {
            url: { type: 'string', pattern: '^https?://' },
            username: { type: 'string', minLength: 1 },
            password: { type: 'string', minLength: 1 },
            project_name: { type: 'string', minLength: 1 },
            user_domain_name: { type: 'string', default: 'Default' },
            project_domain_name: { type: 'string', default: 'Default' },
            cache_ttl: { ...seconds, default: 60 },
            admin_roles: { type: 'array', items: { type: 'string' }, default: ['admin'] },
            timeout: { ...seconds, default: 10 },
          },
        },
      },
    },
    secrets: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        key_file: { type: 'string', minLength: 1, default: './data/secret.key' },
        key: { type: 'string', minLength: 1 },
      },
    },
    monitor: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        probes: { ...monitorSettingsProperties.probes, default: DEFAULT_MONITOR_SETTINGS.probes },
        interval: { ...monitorSettingsProperties.interval, default: DEFAULT_MONITOR_SETTINGS.interval },
        timeout: { ...monitorSettingsProperties.timeout, default: DEFAULT_MONITOR_SETTINGS.timeout },
        failure_threshold: { ...monitorSettingsProperties.failure_threshold, default: DEFAULT_MONITOR_SETTINGS.failure_threshold },
        success_threshold: { ...monitorSettingsProperties.success_threshold, default: DEFAULT_MONITOR_SETTINGS.success_threshold },
        auth_interval: { ...monitorSettingsProperties.auth_interval, default: DEFAULT_MONITOR_SETTINGS.auth_interval },
        jitter: { type: 'number', minimum: 0, maximum: 1, default: 1 },
        batch_window: { type: 'number', minimum: 0, maximum: 5, default: 0.25 },
      },
    },
    outbox: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        poll_interval: { ...seconds, default: 0.5 },
        settle: { type: 'number', minimum: 0, default: 1 },
        retry_base: { ...seconds, default: 1 },
        retry_cap: { ...seconds, default: 300 },
        dead_letter_after: { ...seconds, default: 86_400 },
        lease_ttl: { ...seconds, default: 10 },
      },
    },
    notifications: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { amqp: amqpNotificationsSchema },
    },
    webhooks: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        timeout: { ...seconds, default: 10 },
        allow_loopback: { type: 'boolean', default: false },
        allow_link_local: { type: 'boolean', default: false },
      },
    },
    manager: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        sweep_interval: { ...seconds, default: 3 },
        stall_grace: { type: 'number', minimum: 0, default: 2 },
        lease_ttl: { ...seconds, default: 8 },
        heartbeat_interval: { ...seconds, default: 2 },
        worker_name: { type: 'string', minLength: 1, maxLength: 128 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'], default: 'info' },
        format: { enum: ['auto', 'json', 'pretty'], default: 'auto' },
      },
    },
  },
} as const;

/** Keys whose values are secrets: never echoed in errors or logs. */
export const secretConfigKeys = new Set<string>(['auth.keystone.password', 'secrets.key', ...amqpSecretConfigKeys]);
