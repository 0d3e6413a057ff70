/**
 * The configuration's shape, defaults and documentation in one place. The
 * JSON schema drives validation, defaults and the environment variable
 * mapping (see load.ts); the `Config` type is derived from it; each key's
 * `description` is its documentation (the README's configuration table is
 * generated from it: `npm run docs:config`, checked by docs-table.test.ts).
 */
import type { FromSchema } from 'json-schema-to-ts';
import { amqpNotificationsSchema, amqpSecretConfigKeys } from '../events/sinks/amqp-config.js';
import { DEFAULT_MONITOR_SETTINGS, monitorSettingsProperties } from '../monitors/settings.js';
import { DEFAULT_HEALTH_SETTINGS, healthSettingsProperties } from '../health/settings.js';

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
        host: { type: 'string', minLength: 1, default: '127.0.0.1', description: 'address to listen on' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 9890, description: 'port (0 picks a free one)' },
        body_limit: {
          type: 'integer',
          minimum: 1024,
          default: 1_048_576,
          description: 'largest accepted request body in bytes (larger: 413)',
        },
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
          description: '`sqlite:PATH`, `postgres://user:pw@host:5432/db`, `mysql://…` or `mariadb://…`',
        },
        pool_size: {
          type: 'integer',
          minimum: 1,
          maximum: 200,
          default: 10,
          description: 'connections per process (PostgreSQL, MariaDB)',
        },
        sqlite_cache_mb: {
          type: 'integer',
          minimum: 1,
          maximum: 1024,
          default: 2,
          description:
            "MiB of database pages the SQLite connection keeps in memory (SQLite's own default; the file's pages stay in the kernel's page cache anyway). better-sqlite3 would take 16, which held about 12 MB more resident memory at 10,000 VIMs (issue 13)",
        },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        strategy: { enum: ['noauth', 'keystone'], default: 'noauth', description: '`noauth` or `keystone`' },
        noauth: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            project_id: {
              type: 'string',
              minLength: 1,
              maxLength: 64,
              default: 'admin',
              description: 'tenant of VIMs created without authentication (a request may name another in `X-Project-Id`)',
            },
          },
        },
        keystone: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'username', 'password', 'project_name'],
          properties: {
            url: { type: 'string', pattern: '^https?://', description: 'Keystone v3 URL, e.g. `http://127.0.0.1:5000/v3`' },
            username: { type: 'string', minLength: 1, description: "vim-monitor's own service user, used to validate callers' tokens" },
            password: { type: 'string', minLength: 1, description: 'password of that user (a secret: never logged)' },
            project_name: { type: 'string', minLength: 1, description: 'project of that user' },
            user_domain_name: { type: 'string', default: 'Default', description: 'domain of that user' },
            project_domain_name: { type: 'string', default: 'Default', description: 'domain of that project' },
            cache_ttl: {
              ...seconds,
              default: 60,
              description: 'seconds a validated token is trusted before asking Keystone again (never past its expiry)',
            },
            admin_roles: {
              type: 'array',
              items: { type: 'string' },
              default: ['admin'],
              description: "roles that make a caller an administrator: it sees and manages every tenant's VIMs",
            },
            timeout: { ...seconds, default: 10, description: 'seconds to wait for Keystone (then 503)' },
          },
        },
      },
    },
    secrets: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        key_file: {
          type: 'string',
          minLength: 1,
          default: './data/secret.key',
          description:
            'AES-256 key for credentials at rest; created with mode 0600 on the first start of an empty database, never later (see "Secret key"). Back it up: without it stored credentials cannot be read',
        },
        key: { type: 'string', minLength: 1, description: 'the key itself (base64 of 32 bytes), e.g. from a secret store; wins over `key_file`' },
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
        jitter: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 1,
          description: 'fraction of `interval` over which first rounds are spread at start-up',
        },
        batch_window: {
          type: 'number',
          minimum: 0,
          maximum: 5,
          default: 1,
          description:
            'rounds start on a common tick of this many seconds: each tick is one wake-up of the service and of the probe engine (or one fping process on the Node.js engine), and on a virtual machine a wake-up costs more than a check, so a longer window saves CPU (1 s against 0.25 s: about 15 % at 1,000 VIMs); the price is N × window ÷ interval checks started at once, and a first round up to one window late. A monitor whose interval is shorter ticks on its interval',
        },
        probe_engine: {
          type: 'string',
          enum: ['auto', 'native', 'node'],
          default: 'auto',
          description:
            'what sends the icmp and api probes: `native`, the probe engine built from source at install (native/probe-engine: one thread, one ICMP socket per family, no process or JavaScript object per check); `node`, fping and node:http; `auto`, native when it is built and loads, else node (ICMP and HTTP fall back separately, e.g. ICMP to fping without a raw socket or `ping_group_range`). One log line at start says which runs and why; `native` refuses to start without it (see docs/probes.md, "Probe engine")',
        },
      },
    },
    probes: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        simulate_file: {
          type: 'string',
          minLength: 1,
          description:
            'for benchmarks and tests only: a JSON script (see docs/benchmark.md, "Scale") that answers every probe of this process instead of the network, so no VIM is really checked; logged loudly at start. Unset (the default): real probes',
        },
      },
    },
    health: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        deep_interval: { ...healthSettingsProperties.deep_interval, default: DEFAULT_HEALTH_SETTINGS.deep_interval },
        required_services: { ...healthSettingsProperties.required_services, default: DEFAULT_HEALTH_SETTINGS.required_services },
        watched_services: { ...healthSettingsProperties.watched_services, default: DEFAULT_HEALTH_SETTINGS.watched_services },
        endpoint_interface: { ...healthSettingsProperties.endpoint_interface, default: DEFAULT_HEALTH_SETTINGS.endpoint_interface },
        region: { ...healthSettingsProperties.region, default: null },
        expiry_warning_days: { ...healthSettingsProperties.expiry_warning_days, default: DEFAULT_HEALTH_SETTINGS.expiry_warning_days },
        capacity_warning_ratio: { ...healthSettingsProperties.capacity_warning_ratio, default: DEFAULT_HEALTH_SETTINGS.capacity_warning_ratio },
        nodes_ready_warning_ratio: { ...healthSettingsProperties.nodes_ready_warning_ratio, default: DEFAULT_HEALTH_SETTINGS.nodes_ready_warning_ratio },
      },
    },
    outbox: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true, description: 'deliver stored events to webhooks and AMQP from this process' },
        poll_interval: {
          ...seconds,
          default: 0.5,
          description: 'seconds between delivery passes (also how often an SSE stream looks for events); on SQLite passes stop while every channel is caught up, and each event stored starts one at once',
        },
        settle: {
          type: 'number',
          minimum: 0,
          default: 1,
          description: 'seconds an event id must have been visible before readers pass it (several workers may commit out of id order)',
        },
        retry_base: { ...seconds, default: 1, description: 'first retry delay in seconds; it doubles per failure, with jitter, up to `retry_cap`' },
        retry_cap: { ...seconds, default: 300, description: 'longest retry delay in seconds' },
        dead_letter_after: {
          ...seconds,
          default: 86_400,
          description: 'seconds after which an event that still cannot be delivered is dead-lettered',
        },
        lease_ttl: { ...seconds, default: 10, description: "seconds a worker's lease on a delivery channel lasts without renewal" },
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
        timeout: { ...seconds, default: 10, description: 'seconds a callback may take to answer' },
        allow_loopback: { type: 'boolean', default: false, description: 'accept callback URLs on 127.0.0.0/8 and ::1' },
        allow_link_local: {
          type: 'boolean',
          default: false,
          description: 'accept link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, …)',
        },
      },
    },
    egress: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Outbound address policy for everything the service connects to on behalf of a tenant: VIM probes and webhook callbacks.',
      properties: {
        deny_cidrs: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          default: [],
          description:
            "CIDRs (or single addresses) that no VIM auth_url, OIDC token URL or webhook callback may resolve to, on top of the built-in refusals (link-local, cloud metadata, unspecified); e.g. the service's own networks.",
        },
        allow_cidrs: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          default: [],
          description:
            'CIDRs allowed although a built-in or configured deny covers them; the most specific matching CIDR decides (deny wins a tie), so 169.254.169.254 needs its own /32 here.',
        },
      },
    },
    manager: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true, description: 'run monitors in this process (`false`: API only)' },
        sweep_interval: {
          ...seconds,
          default: 3,
          description: 'seconds between sweeps that replace stuck monitors, follow VIM changes and rebalance between workers',
        },
        stall_grace: { type: 'number', minimum: 0, default: 2, description: 'seconds past its deadline before a round counts as stuck' },
        failover_threshold: {
          type: 'integer',
          minimum: 0,
          default: 100,
          description:
            'when more monitors than this are stuck in one sweep, none is replaced: that many at once is this process overloaded (its event loop late), and replacing them would add load (as Octavia\'s `failover_threshold`); `0`: no limit',
        },
        lease_ttl: {
          ...seconds,
          default: 8,
          description:
            "seconds a worker's lease on its monitors lasts without a heartbeat; a dead worker's monitors are taken over within `lease_ttl + sweep_interval` (11 s by default)",
        },
        heartbeat_interval: {
          ...seconds,
          default: 2,
          description: "seconds between worker heartbeats, each of which renews the worker's lease on all its monitors at once (at most half of `lease_ttl`)",
        },
        worker_name: {
          type: 'string',
          minLength: 1,
          maxLength: 128,
          description: "this worker's name as the owner of its monitors (default `host:pid:random`)",
        },
        zone: {
          type: 'string',
          minLength: 1,
          maxLength: 64,
          description:
            "this worker's site, rack or network: a VIM's owner asks workers of other zones first to confirm a down verdict (`confirm`); shown in `GET /v1.0/manager`",
        },
      },
    },
    confirm: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Confirmation of down verdicts from other workers (several workers on PostgreSQL or MariaDB; see "Confirmation from other workers").',
      properties: {
        enabled: {
          type: 'boolean',
          default: true,
          description: 'before a VIM turns `UNREACHABLE`, its owner asks other live workers to probe it once (a VIM may override this in `monitor_settings.confirm`)',
        },
        count: { type: 'integer', minimum: 1, maximum: 10, default: 2, description: 'other workers asked at most, other zones first' },
        quorum: {
          type: 'integer',
          minimum: 1,
          maximum: 10,
          default: 1,
          description:
            'how many of the asked workers must also find the VIM down (not more than `count`); 1: with the owner, two vantage points agree, and one worker that reaches the VIM holds the verdict',
        },
        deadline: {
          ...seconds,
          description: 'seconds the answers may take (default max(2 × the VIM\'s `timeout`, 3)); with no answer by then the owner decides alone',
        },
        recheck: {
          ...seconds,
          default: 30,
          description: 'seconds a verdict stays held after other workers reached the VIM, before its owner asks again (while it still finds it down)',
        },
        poll_interval: {
          type: 'number',
          minimum: 0.05,
          maximum: 10,
          default: 0.5,
          description: 'seconds between polls of the request table (one indexed query per poll per worker)',
        },
      },
    },
    maintenance: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        refresh_interval: {
          ...seconds,
          default: 5,
          description:
            "seconds between reads of the maintenance windows by each process (a window created or deleted through a process's own API applies there at once)",
        },
        check_interval: {
          ...seconds,
          default: 1,
          description:
            'seconds between passes, in memory, that notice a maintenance window or a flapping VIM ending; receivers then get one catch-up event per VIM whose status they missed',
        },
      },
    },
    flap: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        max_changes: {
          type: 'integer',
          minimum: 0,
          default: 10,
          description:
            'a VIM whose status changes more than this many times within `flap.window` is flapping: receivers get at most one status per window until it is quiet for a whole window (`0`: no flap damping)',
        },
        window: { ...seconds, default: 600, description: 'seconds over which status changes are counted for flap damping' },
      },
    },
    history: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        flush_interval: {
          ...seconds,
          default: 60,
          description:
            "seconds between writes of each worker's status history (one row per VIM per UTC day, written by the VIM's owner; also written after each hour ends and on a graceful stop). A database outage keeps it in memory until the next write that succeeds",
        },
        raw_events_days: {
          type: 'integer',
          minimum: 1,
          default: 30,
          description: 'days the individual VIM events are kept (older ones are pruned once every delivery channel has passed them)',
        },
        hourly_days: {
          type: 'integer',
          minimum: 1,
          default: 90,
          description: 'days the hourly detail of status history is kept; older days keep only their daily rollup',
        },
        daily_days: {
          type: 'integer',
          minimum: 1,
          default: 730,
          description: 'days the daily rollups of status history are kept (at least `hourly_days`)',
        },
        prune_interval: { ...seconds, default: 3600, description: 'seconds between pruning passes over events and status history' },
        prune_batch: {
          type: 'integer',
          minimum: 1,
          maximum: 100_000,
          default: 1000,
          description: 'events a pruning statement removes at most, and VIMs whose status history one pruning statement covers (small batches keep locks short)',
        },
      },
    },
    guard: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: "The isolation guard: a worker cut off from its own network holds its VIMs' down verdicts instead of paging for all of them (see docs/isolation-guard.md).",
      properties: {
        enabled: { type: 'boolean', default: true, description: 'hold down verdicts while this worker looks isolated, recovering, or just out of a database or broker outage' },
        canaries: {
          type: 'array',
          default: [],
          maxItems: 16,
          items: {
            anyOf: [
              { type: 'string', minLength: 1, maxLength: 2048 },
              {
                type: 'object',
                additionalProperties: false,
                properties: {
                  address: { type: 'string', minLength: 1, maxLength: 255 },
                  port: { type: 'integer', minimum: 1, maximum: 65535 },
                  url: { type: 'string', pattern: '^https?://', maxLength: 2048 },
                },
              },
            ],
          },
          description:
            "this worker's own dependencies: `{address: 192.0.2.1}` is pinged (icmp), `{address: 192.0.2.53, port: 53}` connected to (tcp), `{url: 'http://192.0.2.10:5000/v3'}` fetched as the api probe fetches an auth_url; or the same as strings (`192.0.2.1`, `192.0.2.53:53`, `http://…`; comma-separated in the environment). When every canary fails `canary_failures` checks in a row the worker is isolated. None by default: the default gateway is not assumed",
        },
        canary_interval: { ...seconds, default: 2, description: 'seconds between canary checks' },
        canary_timeout: { ...seconds, default: 1, description: 'seconds a canary check may take (shorter than `canary_interval`)' },
        canary_failures: { type: 'integer', minimum: 1, maximum: 100, default: 2, description: 'failed checks in a row before a canary counts as failing' },
        max_failing_share: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0.3,
          description:
            "share of this worker's recently checked VIMs failing above which it counts as isolated, if the share was at most half of it one `window` before (a sudden rise, not a standing or creeping outage); it leaves at half this share",
        },
        min_failing: { type: 'integer', minimum: 1, default: 10, description: 'failing VIMs needed besides the share (a small worker losing 2 of 3 VIMs is not isolated)' },
        window: {
          ...seconds,
          description: 'seconds: a VIM counts when its latest round ended within it, and the share must have risen within it (default: `monitor.interval`); no rise is seen in the first window after start-up',
        },
        interval: { ...seconds, default: 1, description: 'seconds between the guard\'s decisions (each reads every monitor\'s latest round once)' },
        recovery_grace: {
          type: 'number',
          minimum: 0,
          default: 30,
          description: 'seconds after the canaries answer and the failing share drops before down verdicts apply again',
        },
        outage_grace: {
          type: 'number',
          minimum: 0,
          default: 30,
          description: 'seconds after a database or AMQP broker outage ends during which down verdicts are held (during the outage monitoring goes on in memory)',
        },
      },
    },
    ui: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The dashboard\'s login under `auth.strategy: keystone` (see docs/dashboard-auth.md).',
      properties: {
        session_ttl: {
          ...seconds,
          default: 28_800,
          description:
            "seconds a dashboard login lasts at most; it ends earlier when its Keystone token expires (Keystone's [token] expiration, 1 hour by default)",
        },
        secure_cookie: {
          enum: ['auto', 'always', 'never'],
          default: 'auto',
          description:
            'whether the session cookie is marked `Secure`: `auto` when the request came over TLS, `always` (set it behind a TLS-terminating proxy), `never`',
        },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: {
          enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'],
          default: 'info',
          description: '`fatal`, `error`, `warn`, `info`, `debug`, `trace`',
        },
        format: {
          enum: ['auto', 'json', 'pretty'],
          default: 'auto',
          description: '`json`, `pretty`, or `auto` (pretty on a terminal, JSON otherwise)',
        },
      },
    },
  },
} as const;

/** The configuration after validation: every key with a default is present. */
export type Config = FromSchema<typeof configSchema>;
export type AuthStrategy = Config['auth']['strategy'];
export type LogFormat = Config['log']['format'];
export type KeystoneAuthConfig = NonNullable<Config['auth']['keystone']>;
export type UiConfig = Config['ui'];

/** Keys whose values are secrets: never echoed in errors or logs. */
export const secretConfigKeys = new Set<string>(['auth.keystone.password', 'secrets.key', ...amqpSecretConfigKeys]);
