import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors.js';
import { amqpNotificationsDefaults } from '../events/sinks/amqp-config.js';
import { loadConfig, validateConfig } from './load.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vim-monitor-config-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeYaml(text: string, name = 'config.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Runs `fn`, expects a ConfigurationError and returns its message. */
function configErrorOf(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigurationError);
  return (caught as ConfigurationError).message;
}

const KEYSTONE_YAML = `
auth:
  strategy: keystone
  keystone:
    url: http://keystone.example:5000/v3
    username: vim-monitor
    password: file-password
    project_name: service
`;

describe('loadConfig defaults', () => {
  it('fills every default when neither a file nor environment variables are given', () => {
    expect(loadConfig({ env: {} })).toEqual({
      server: {
        host: '127.0.0.1',
        port: 9890,
        body_limit: 1_048_576,
        headers_timeout: 10,
        request_timeout: 30,
        keep_alive_timeout: 72,
        max_connections: 512,
        shutdown_timeout: 10,
      },
      database: { url: 'sqlite:./data/vim-monitor.db', pool_size: 10, sqlite_cache_mb: 2 },
      auth: { strategy: 'noauth', noauth: { project_id: 'admin' } },
      secrets: { key_file: './data/secret.key' },
      log: { level: 'info', format: 'auto' },
      monitor: { probes: ['icmp', 'api'], interval: 10, timeout: 3, failure_threshold: 3, success_threshold: 2, auth_interval: 300, jitter: 1, batch_window: 1, probe_engine: 'auto' },
      // No simulate_file: the probes are real unless a process's configuration names a script.
      probes: {},
      manager: { enabled: true, sweep_interval: 3, stall_grace: 2, failover_threshold: 100, lease_ttl: 8, heartbeat_interval: 2 },
      guard: {
        enabled: true,
        canaries: [],
        canary_interval: 2,
        canary_timeout: 1,
        canary_failures: 2,
        max_failing_share: 0.3,
        min_failing: 10,
        interval: 1,
        recovery_grace: 30,
        outage_grace: 30,
      },
      health: {
        deep_interval: 60,
        required_services: ['identity'],
        watched_services: ['compute', 'network', 'image', 'placement', 'orchestration', 'volumev3', 'block-storage'],
        endpoint_interface: 'public',
        region: null,
        expiry_warning_days: 14,
        capacity_warning_ratio: 0.1,
        nodes_ready_warning_ratio: 1,
      },
      outbox: { enabled: true, poll_interval: 0.5, settle: 1, retry_base: 1, retry_cap: 300, dead_letter_after: 86400, lease_ttl: 10 },
      webhooks: { timeout: 10, allow_loopback: false, allow_link_local: false },
      ui: { session_ttl: 28_800, secure_cookie: 'auto' },
      egress: { deny_cidrs: [], allow_cidrs: [] },
      maintenance: { refresh_interval: 5, check_interval: 1 },
      flap: { max_changes: 10, window: 600 },
      history: { flush_interval: 60, raw_events_days: 30, hourly_days: 90, daily_days: 730, prune_interval: 3600, prune_batch: 1000 },
      notifications: { amqp: amqpNotificationsDefaults() },
      confirm: { enabled: true, count: 2, quorum: 1, recheck: 30, poll_interval: 0.5 },
    });
  });

  it('reads monitor settings and a boolean from the environment', () => {
    const config = loadConfig({ env: { VIM_MONITOR_MONITOR_PROBES: 'tcp,auth', VIM_MONITOR_MANAGER_ENABLED: 'false' } });
    expect(config.monitor.probes).toEqual(['tcp', 'auth']);
    expect(config.manager.enabled).toBe(false);
  });

  it('refuses a monitor timeout that is not shorter than the interval, naming both keys', () => {
    expect(() => loadConfig({ env: { VIM_MONITOR_MONITOR_TIMEOUT: '10' } })).toThrow(
      /monitor\.timeout \(10\) must be shorter than monitor\.interval \(10\)/,
    );
  });

  it('refuses a confirmation quorum larger than the count of workers asked, naming both keys', () => {
    expect(() => loadConfig({ env: { VIM_MONITOR_CONFIRM_COUNT: '2', VIM_MONITOR_CONFIRM_QUORUM: '3' } })).toThrow(
      /confirm\.quorum \(3\) must not be larger than confirm\.count \(2\)/,
    );
    expect(loadConfig({ env: { VIM_MONITOR_CONFIRM_COUNT: '3', VIM_MONITOR_CONFIRM_QUORUM: '3', VIM_MONITOR_MANAGER_ZONE: 'rack-b' } })).toMatchObject({
      confirm: { count: 3, quorum: 3 },
      manager: { zone: 'rack-b' },
    });
  });

  it('refuses an unknown probe name', () => {
    expect(() => loadConfig({ env: { VIM_MONITOR_MONITOR_PROBES: 'icmp,smtp' } })).toThrow(/monitor\.probes\.1/);
  });

  it('ignores environment variables without the VIM_MONITOR_ prefix and empty ones', () => {
    const config = loadConfig({ env: { PORT: '1', SERVER_PORT: '2', VIM_MONITOR_SERVER_PORT: '' } });
    expect(config.server.port).toBe(9890);
  });

  it('treats an empty YAML file as no settings at all', () => {
    expect(loadConfig({ file: writeYaml(''), env: {} }).server.port).toBe(9890);
  });

  it('fills keystone defaults when only the required keystone keys are given', () => {
    const keystone = loadConfig({ file: writeYaml(KEYSTONE_YAML), env: {} }).auth.keystone;
    expect(keystone).toEqual({
      url: 'http://keystone.example:5000/v3',
      username: 'vim-monitor',
      password: 'file-password',
      project_name: 'service',
      user_domain_name: 'Default',
      project_domain_name: 'Default',
      cache_ttl: 60,
      admin_roles: ['admin'],
      timeout: 10,
    });
  });
});

describe('loadConfig from a YAML file', () => {
  it('reads values from the file and keeps defaults for the keys it leaves out', () => {
    const file = writeYaml(`
server:
  host: 0.0.0.0
  port: 8080
database:
  url: postgresql://vim:pw@db.example:5432/vims
  pool_size: 25
log:
  level: debug
  format: json
secrets:
  key_file: /etc/vim-monitor/secret.key
`);
    const config = loadConfig({ file, env: {} });
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8080, body_limit: 1_048_576, shutdown_timeout: 10 });
    expect(config.database).toEqual({ url: 'postgresql://vim:pw@db.example:5432/vims', pool_size: 25, sqlite_cache_mb: 2 });
    expect(config.log).toEqual({ level: 'debug', format: 'json' });
    expect(config.secrets).toEqual({ key_file: '/etc/vim-monitor/secret.key' });
    expect(config.auth.strategy).toBe('noauth');
  });

  it('accepts a YAML list for auth.keystone.admin_roles', () => {
    const file = writeYaml(`${KEYSTONE_YAML}    admin_roles: [admin, nfv_admin]\n`);
    expect(loadConfig({ file, env: {} }).auth.keystone?.admin_roles).toEqual(['admin', 'nfv_admin']);
  });

  it('accepts every supported database scheme', () => {
    for (const url of ['sqlite::memory:', 'postgres://h/db', 'postgresql://h/db', 'mysql://h/db', 'mariadb://h/db']) {
      expect(validateConfig({ database: { url } }).database.url).toBe(url);
    }
  });

  it('refuses a configuration file that does not exist, naming the file and the error code', () => {
    const missing = join(dir, 'nope.yaml');
    expect(configErrorOf(() => loadConfig({ file: missing, env: {} }))).toBe(`cannot read configuration file ${missing}: ENOENT`);
  });

  it('refuses a configuration file that is not valid YAML, saying where the problem is', () => {
    const file = writeYaml('server:\n  host: "unterminated\n');
    expect(configErrorOf(() => loadConfig({ file, env: {} }))).toBe(
      `configuration file ${file} is not valid YAML: MISSING_CHAR at line 3, column 1`,
    );
  });

  it('refuses a configuration file with duplicate keys', () => {
    const file = writeYaml('server:\n  port: 1\n  port: 2\n');
    expect(configErrorOf(() => loadConfig({ file, env: {} }))).toBe(
      `configuration file ${file} is not valid YAML: DUPLICATE_KEY at line 3, column 3`,
    );
  });

  it('refuses a YAML file whose top level is a list instead of a mapping', () => {
    const file = writeYaml('- server\n- database\n');
    expect(configErrorOf(() => loadConfig({ file, env: {} }))).toBe(`configuration file ${file} must hold a mapping of sections`);
  });

  it('refuses a YAML file whose top level is a plain string', () => {
    const file = writeYaml('just a string\n');
    expect(configErrorOf(() => loadConfig({ file, env: {} }))).toBe(`configuration file ${file} must hold a mapping of sections`);
  });
});

describe('loadConfig environment overlay', () => {
  it('refuses a headers timeout longer than the request timeout that contains it', () => {
    expect(configErrorOf(() => validateConfig({ server: { headers_timeout: 40, request_timeout: 30 } }))).toBe(
      'configuration key server.headers_timeout (40) must not be longer than server.request_timeout (30)',
    );
  });

  it('sets server.port from VIM_MONITOR_SERVER_PORT as a number', () => {
    const config = loadConfig({ env: { VIM_MONITOR_SERVER_PORT: '1234' } });
    expect(config.server.port).toBe(1234);
  });

  it('sets a key whose own name contains underscores (VIM_MONITOR_SERVER_BODY_LIMIT)', () => {
    expect(loadConfig({ env: { VIM_MONITOR_SERVER_BODY_LIMIT: '2048' } }).server.body_limit).toBe(2048);
  });

  it('sets the nested keystone password from VIM_MONITOR_AUTH_KEYSTONE_PASSWORD', () => {
    const file = writeYaml(KEYSTONE_YAML);
    const config = loadConfig({ file, env: { VIM_MONITOR_AUTH_KEYSTONE_PASSWORD: 'env-password' } });
    expect(config.auth.keystone?.password).toBe('env-password');
    expect(config.auth.keystone?.username).toBe('vim-monitor');
  });

  it('builds a whole keystone section from environment variables alone', () => {
    const config = loadConfig({
      env: {
        VIM_MONITOR_AUTH_STRATEGY: 'keystone',
        VIM_MONITOR_AUTH_KEYSTONE_URL: 'https://keystone.example/identity/v3',
        VIM_MONITOR_AUTH_KEYSTONE_USERNAME: 'svc',
        VIM_MONITOR_AUTH_KEYSTONE_PASSWORD: 'env-password',
        VIM_MONITOR_AUTH_KEYSTONE_PROJECT_NAME: 'service',
        VIM_MONITOR_AUTH_KEYSTONE_CACHE_TTL: '2.5',
      },
    });
    expect(config.auth.strategy).toBe('keystone');
    expect(config.auth.keystone).toMatchObject({
      url: 'https://keystone.example/identity/v3',
      username: 'svc',
      password: 'env-password',
      project_name: 'service',
      cache_ttl: 2.5,
    });
  });

  it('lets the environment win over the file while keeping the other file values', () => {
    const file = writeYaml('server:\n  host: 10.0.0.1\n  port: 8080\n');
    const config = loadConfig({ file, env: { VIM_MONITOR_SERVER_PORT: '1234' } });
    expect(config.server.port).toBe(1234);
    expect(config.server.host).toBe('10.0.0.1');
  });

  it('lets an environment password win over the file password', () => {
    const file = writeYaml(KEYSTONE_YAML);
    const config = loadConfig({ file, env: { VIM_MONITOR_AUTH_KEYSTONE_PASSWORD: 'env-password' } });
    expect(config.auth.keystone?.password).not.toBe('file-password');
    expect(config.auth.keystone?.password).toBe('env-password');
  });

  it('splits a comma separated admin_roles variable, trimming blanks and dropping empty items', () => {
    const file = writeYaml(KEYSTONE_YAML);
    const config = loadConfig({ file, env: { VIM_MONITOR_AUTH_KEYSTONE_ADMIN_ROLES: ' admin, nfv_admin ,,cloud_admin,' } });
    expect(config.auth.keystone?.admin_roles).toEqual(['admin', 'nfv_admin', 'cloud_admin']);
  });

  it('does not modify the environment object it was given', () => {
    const env = { VIM_MONITOR_SERVER_PORT: '1234' };
    loadConfig({ env });
    expect(env).toEqual({ VIM_MONITOR_SERVER_PORT: '1234' });
  });

  it('refuses a non-numeric VIM_MONITOR_SERVER_PORT, naming the key and the variable', () => {
    expect(configErrorOf(() => loadConfig({ env: { VIM_MONITOR_SERVER_PORT: 'eighty' } }))).toBe(
      'server.port (from VIM_MONITOR_SERVER_PORT) must be a number',
    );
  });

  it('refuses a blank numeric environment value instead of reading it as zero', () => {
    expect(configErrorOf(() => loadConfig({ env: { VIM_MONITOR_DATABASE_POOL_SIZE: '   ' } }))).toBe(
      'database.pool_size (from VIM_MONITOR_DATABASE_POOL_SIZE) must be a number',
    );
  });

  it('refuses a fractional port from the environment, naming server.port', () => {
    expect(configErrorOf(() => loadConfig({ env: { VIM_MONITOR_SERVER_PORT: '80.5' } }))).toBe(
      'configuration key server.port is invalid (must be integer)',
    );
  });

  it('refuses an unknown log level from the environment, listing the allowed levels', () => {
    expect(configErrorOf(() => loadConfig({ env: { VIM_MONITOR_LOG_LEVEL: 'verbose' } }))).toBe(
      'configuration key log.level must be one of: fatal, error, warn, info, debug, trace',
    );
  });
});

describe('validateConfig errors name the key', () => {
  it('refuses an unknown top-level section', () => {
    expect(configErrorOf(() => validateConfig({ metrics: { enabled: true } }))).toBe('unknown configuration key metrics');
  });

  it('refuses an unknown key inside a section with its full dotted path', () => {
    expect(configErrorOf(() => validateConfig({ server: { prot: 80 } }))).toBe('unknown configuration key server.prot');
  });

  it('refuses an unknown key read from a YAML file', () => {
    const file = writeYaml('database:\n  uri: sqlite:x.db\n');
    expect(configErrorOf(() => loadConfig({ file, env: {} }))).toBe('unknown configuration key database.uri');
  });

  it('refuses a port given as a string of the wrong type', () => {
    expect(configErrorOf(() => validateConfig({ server: { port: '8080' } }))).toBe(
      'configuration key server.port is invalid (must be integer)',
    );
  });

  it('refuses a section given as a scalar', () => {
    expect(configErrorOf(() => validateConfig({ server: 'localhost' }))).toBe(
      'configuration key server is invalid (must be object)',
    );
  });

  it('refuses port 70000 as above the maximum', () => {
    expect(configErrorOf(() => validateConfig({ server: { port: 70000 } }))).toBe(
      'configuration key server.port is invalid (must be <= 65535)',
    );
  });

  it('refuses a negative pool size', () => {
    expect(configErrorOf(() => validateConfig({ database: { pool_size: -1 } }))).toBe(
      'configuration key database.pool_size is invalid (must be >= 1)',
    );
  });

  it('refuses a bad auth.strategy value, listing the allowed strategies', () => {
    expect(configErrorOf(() => validateConfig({ auth: { strategy: 'ldap' } }))).toBe(
      'configuration key auth.strategy must be one of: noauth, keystone',
    );
  });

  it('refuses a bad log.format value, listing the allowed formats', () => {
    expect(configErrorOf(() => validateConfig({ log: { format: 'xml' } }))).toBe(
      'configuration key log.format must be one of: auto, json, pretty',
    );
  });

  it('refuses a database.url with an unsupported scheme', () => {
    const message = configErrorOf(() => validateConfig({ database: { url: 'mongodb://db.example/vims' } }));
    expect(message).toMatch(/^configuration key database\.url is invalid \(must match pattern/);
  });

  it('refuses the keystone strategy without an auth.keystone section', () => {
    expect(configErrorOf(() => validateConfig({ auth: { strategy: 'keystone' } }))).toBe(
      'missing configuration key auth.keystone (required when auth.strategy is keystone)',
    );
  });

  it('refuses a keystone section that lacks a required key, naming it', () => {
    const message = configErrorOf(() =>
      validateConfig({ auth: { strategy: 'keystone', keystone: { url: 'http://k/v3', username: 'u', password: 'p' } } }),
    );
    expect(message).toBe('missing configuration key auth.keystone.project_name');
  });

  it('refuses a keystone url that is not http(s)', () => {
    const message = configErrorOf(() =>
      validateConfig({ auth: { keystone: { url: 'keystone:5000', username: 'u', password: 'p', project_name: 'x' } } }),
    );
    expect(message).toMatch(/^configuration key auth\.keystone\.url is invalid/);
  });

  it('refuses a zero keystone cache_ttl', () => {
    const message = configErrorOf(() =>
      validateConfig({ auth: { keystone: { url: 'http://k/v3', username: 'u', password: 'p', project_name: 'x', cache_ttl: 0 } } }),
    );
    expect(message).toBe('configuration key auth.keystone.cache_ttl is invalid (must be > 0)');
  });
});

describe('secrets never appear in configuration errors', () => {
  it('does not show the keystone password value when it has the wrong type in YAML', () => {
    const file = writeYaml(`
auth:
  strategy: keystone
  keystone:
    url: http://keystone.example:5000/v3
    username: vim-monitor
    password: 987654321
    project_name: service
`);
    const message = configErrorOf(() => loadConfig({ file, env: {} }));
    expect(message).toBe('configuration key auth.keystone.password is invalid');
    expect(message).not.toContain('987654321');
    expect(message).not.toContain('must be');
  });

  it('does not show the keystone password value when it is a list in YAML', () => {
    const file = writeYaml(`
auth:
  keystone:
    url: http://keystone.example:5000/v3
    username: vim-monitor
    password: [hunter2-secret]
    project_name: service
`);
    const message = configErrorOf(() => loadConfig({ file, env: {} }));
    expect(message).toContain('auth.keystone.password');
    expect(message).not.toContain('hunter2-secret');
  });

  it('does not show the keystone password value when another keystone key is missing', () => {
    const message = configErrorOf(() =>
      loadConfig({ env: { VIM_MONITOR_AUTH_STRATEGY: 'keystone', VIM_MONITOR_AUTH_KEYSTONE_PASSWORD: 'env-secret-value' } }),
    );
    expect(message).toBe('missing configuration key auth.keystone.url');
    expect(message).not.toContain('env-secret-value');
  });

  it('does not quote an unquoted password that starts with * (a YAML alias) in the YAML error', () => {
    const file = writeYaml(`
auth:
  keystone:
    url: http://keystone.example:5000/v3
    username: vim-monitor
    password: *Star-Passw0rd
    project_name: service
`);
    const message = configErrorOf(() => loadConfig({ file, env: {} }));
    expect(message).toBe(`configuration file ${file} is not valid YAML (unresolved alias: quote values that start with *)`);
    expect(message).not.toContain('Star-Passw0rd');
  });

  it('does not quote a password with a bad escape sequence in the YAML error', () => {
    const file = writeYaml('auth:\n  keystone:\n    password: "pa\\qss-secret"\n');
    const message = configErrorOf(() => loadConfig({ file, env: {} }));
    expect(message).toBe(`configuration file ${file} is not valid YAML: BAD_DQ_ESCAPE at line 3, column 18`);
    expect(message).not.toContain('\\q');
  });

  it('does not print an unquoted password that starts with ! (a YAML tag) as a warning', async () => {
    const file = writeYaml(`
auth:
  keystone:
    url: http://keystone.example:5000/v3
    username: vim-monitor
    password: !Bang-Passw0rd
    project_name: service
`);
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(`${warning.message} ${String(warning.stack)}`);
    };
    process.on('warning', onWarning);
    try {
      const message = configErrorOf(() => loadConfig({ file, env: {} }));
      expect(message).toBe('configuration key auth.keystone.password is invalid');
      // process.emitWarning delivers on a later tick.
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.includes('Bang-Passw0rd'))).toEqual([]);
  });

  it('does not describe an empty secrets.key beyond naming it', () => {
    const message = configErrorOf(() => validateConfig({ secrets: { key: '' } }));
    expect(message).toBe('configuration key secrets.key is invalid');
  });
});

describe('the guard section', () => {
  it('takes canaries as objects or strings, and from the environment as a comma-separated list', () => {
    const config = validateConfig({ guard: { canaries: [{ address: '192.0.2.1' }, { address: '192.0.2.53', port: 53 }, { url: 'http://192.0.2.10:5000/v3' }, '[2001:db8::1]:443'] } });
    expect(config.guard.canaries).toHaveLength(4);
    const fromEnv = loadConfig({ env: { VIM_MONITOR_GUARD_CANARIES: '192.0.2.1, 192.0.2.53:53,http://192.0.2.10:5000/v3', VIM_MONITOR_GUARD_MAX_FAILING_SHARE: '0.5' } });
    expect(fromEnv.guard.canaries).toEqual(['192.0.2.1', '192.0.2.53:53', 'http://192.0.2.10:5000/v3']);
    expect(fromEnv.guard.max_failing_share).toBe(0.5);
  });

  it.each([
    [{ max_failing_share: 1.5 }, 'configuration key guard.max_failing_share is invalid (must be <= 1)'],
    [{ max_failing_share: -0.1 }, 'configuration key guard.max_failing_share is invalid (must be >= 0)'],
    [{ min_failing: 0 }, 'configuration key guard.min_failing is invalid (must be >= 1)'],
    [{ recovery_grace: -1 }, 'configuration key guard.recovery_grace is invalid (must be >= 0)'],
    [{ window: 0 }, 'configuration key guard.window is invalid (must be > 0)'],
    [{ canaries: [{ address: '192.0.2.1', url: 'http://192.0.2.1/' }] }, 'configuration key guard.canaries[0] must name either an address or a url'],
    [{ canaries: [{}] }, 'configuration key guard.canaries[0] must name either an address or a url'],
    [{ canaries: [{ url: 'http://192.0.2.1/', port: 80 }] }, 'configuration key guard.canaries[0] has a port and a url: the port goes with an address (a url has its own)'],
    [{ canaries: ['192.0.2.1', 'ftp://192.0.2.1/'] }, 'configuration key guard.canaries[1] address must be an IP address or a host name (a URL goes in url, http or https)'],
    [{ canary_timeout: 2, canary_interval: 2 }, 'configuration key guard.canary_timeout (2) must be shorter than guard.canary_interval (2)'],
    [{ shares: 1 }, 'unknown configuration key guard.shares'],
  ])('refuses %j', (guard, message) => {
    expect(() => validateConfig({ guard })).toThrow(message);
  });
});

describe('history configuration', () => {
  it('defaults to a 60 s flush, 30 days of events, 90 of hours, 730 of days, a prune pass an hour in batches of 1000', () => {
    expect(validateConfig({}).history).toEqual({ flush_interval: 60, raw_events_days: 30, hourly_days: 90, daily_days: 730, prune_interval: 3600, prune_batch: 1000 });
  });

  it.each([
    [{ flush_interval: 0 }, 'configuration key history.flush_interval is invalid (must be > 0)'],
    [{ hourly_days: 0 }, 'configuration key history.hourly_days is invalid (must be >= 1)'],
    [{ raw_events_days: 1.5 }, 'configuration key history.raw_events_days is invalid (must be integer)'],
    [{ prune_batch: 0 }, 'configuration key history.prune_batch is invalid (must be >= 1)'],
    [{ hourly_days: 90, daily_days: 30 }, 'configuration key history.daily_days (30) must not be shorter than history.hourly_days (90)'],
    [{ keep: 1 }, 'unknown configuration key history.keep'],
  ])('refuses %j', (history, message) => {
    expect(() => validateConfig({ history })).toThrow(message);
  });
});
