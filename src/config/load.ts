import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigurationError } from '../errors.js';
import { canaryProblem } from '../guard/canaries.js';
import { cidrListProblem } from '../net/address-policy.js';
import { configSchema, secretConfigKeys, type Config } from './schema.js';

export const ENV_PREFIX = 'VIM_MONITOR_';

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  enum?: readonly unknown[];
}

/**
 * Reads the YAML file (if any), overlays environment variables and validates
 * the result once, filling defaults. Any problem becomes one ConfigurationError
 * whose message names the key, so start-up stops with one clear line.
 */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = options.env ?? process.env;
  const fromFile = options.file ? readConfigFile(options.file) : {};
  const merged = overlayEnvironment(fromFile, env);
  return validateConfig(merged);
}

export function validateConfig(raw: unknown): Config {
  const ajv = new Ajv({ useDefaults: true, allErrors: false, coerceTypes: false, strict: true });
  const validate = ajv.compile(configSchema);
  const copy: unknown = structuredClone(raw ?? {});
  if (!validate(copy)) {
    throw new ConfigurationError(describeConfigError(validate.errors?.[0]));
  }
  const config = copy as unknown as Config;
  if (config.auth.strategy === 'keystone' && !config.auth.keystone) {
    throw new ConfigurationError('missing configuration key auth.keystone (required when auth.strategy is keystone)');
  }
  const badCidr = cidrListProblem('egress.deny_cidrs', config.egress.deny_cidrs) ?? cidrListProblem('egress.allow_cidrs', config.egress.allow_cidrs);
  if (badCidr) throw new ConfigurationError(badCidr);
  if (config.manager.heartbeat_interval * 2 > config.manager.lease_ttl) {
    throw new ConfigurationError(
      `configuration key manager.lease_ttl (${config.manager.lease_ttl}) must be at least twice manager.heartbeat_interval (${config.manager.heartbeat_interval}), or leases lapse between renewals`,
    );
  }
  if (config.server.headers_timeout > config.server.request_timeout) {
    // Node refuses a headers timeout longer than the request timeout that contains it.
    throw new ConfigurationError(
      `configuration key server.headers_timeout (${config.server.headers_timeout}) must not be longer than server.request_timeout (${config.server.request_timeout})`,
    );
  }
  if (config.confirm.quorum > config.confirm.count) {
    throw new ConfigurationError(
      `configuration key confirm.quorum (${config.confirm.quorum}) must not be larger than confirm.count (${config.confirm.count}): the quorum could never be met`,
    );
  }
  if (config.monitor.timeout >= config.monitor.interval) {
    throw new ConfigurationError(
      `configuration key monitor.timeout (${config.monitor.timeout}) must be shorter than monitor.interval (${config.monitor.interval})`,
    );
  }
  checkGuard(config.guard);
  if (config.history.daily_days < config.history.hourly_days) {
    throw new ConfigurationError(
      `configuration key history.daily_days (${config.history.daily_days}) must not be shorter than history.hourly_days (${config.history.hourly_days}): a day's rollup outlives its hours`,
    );
  }
  return config;
}

/** What the schema cannot say about guard.canaries: each names an address or a URL, not both; a port goes with an address. */
function checkGuard(guard: Config['guard']): void {
  guard.canaries.forEach((canary, i) => {
    const problem = canaryProblem(canary);
    if (problem) throw new ConfigurationError(`configuration key guard.canaries[${i}] ${problem}`);
  });
  if (guard.canary_timeout >= guard.canary_interval) {
    throw new ConfigurationError(
      `configuration key guard.canary_timeout (${guard.canary_timeout}) must be shorter than guard.canary_interval (${guard.canary_interval})`,
    );
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigurationError(`cannot read configuration file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let parsed: unknown;
  try {
    // logLevel 'error': the parser's warnings print the offending line (e.g. `password: !Secret`) to stderr.
    parsed = parseYaml(text, { logLevel: 'error' });
  } catch (err) {
    throw new ConfigurationError(`configuration file ${file} is not valid YAML${yamlErrorLocation(err)}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigurationError(`configuration file ${file} must hold a mapping of sections`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Where the YAML is wrong, never what it says: the parser's messages can quote
 * the document (an unquoted password starting with '*' becomes an alias name).
 */
function yamlErrorLocation(err: unknown): string {
  if (err instanceof YAMLParseError) {
    const at = err.linePos?.[0];
    return at ? `: ${err.code} at line ${at.line}, column ${at.col}` : `: ${err.code}`;
  }
  // The parser throws a ReferenceError naming the alias for an unresolved `*name`.
  return err instanceof ReferenceError ? ' (unresolved alias: quote values that start with *)' : '';
}

/**
 * Every leaf key of the schema can be set as VIM_MONITOR_<SECTION>_<KEY>
 * (e.g. VIM_MONITOR_SERVER_PORT, VIM_MONITOR_AUTH_KEYSTONE_PASSWORD). The
 * schema is walked instead of splitting variable names, because keys contain
 * underscores themselves.
 */
function overlayEnvironment(base: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const result = structuredClone(base);
  const visit = (node: SchemaNode, path: string[]): void => {
    if (node.properties) {
      for (const [key, child] of Object.entries(node.properties)) visit(child, [...path, key]);
      return;
    }
    const name = ENV_PREFIX + path.join('_').toUpperCase();
    const value = env[name];
    if (value === undefined || value === '') return;
    setPath(result, path, coerceEnvValue(value, node, name, path.join('.')));
  };
  visit(configSchema as unknown as SchemaNode, []);
  return result;
}

function coerceEnvValue(value: string, node: SchemaNode, name: string, key: string): unknown {
  switch (node.type) {
    case 'integer':
    case 'number': {
      const n = Number(value);
      if (value.trim() === '' || Number.isNaN(n)) {
        throw new ConfigurationError(`${key} (from ${name}) must be a number`);
      }
      return n;
    }
    case 'boolean': {
      const lowered = value.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lowered)) return true;
      if (['false', '0', 'no', 'off'].includes(lowered)) return false;
      throw new ConfigurationError(`${key} (from ${name}) must be true or false`);
    }
    case 'array':
      return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
    default:
      return value;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let cursor = target;
  for (const key of path.slice(0, -1)) {
    const next = cursor[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cursor[key] = {};
    cursor = cursor[key] as Record<string, unknown>;
  }
  cursor[path[path.length - 1] as string] = value;
}

function describeConfigError(error: ErrorObject | undefined): string {
  if (!error) return 'invalid configuration';
  const base = error.instancePath.split('/').filter(Boolean).join('.');
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = String((error.params as { additionalProperty: string }).additionalProperty);
      return `unknown configuration key ${base ? `${base}.` : ''}${extra}`;
    }
    case 'required': {
      const missing = String((error.params as { missingProperty: string }).missingProperty);
      return `missing configuration key ${base ? `${base}.` : ''}${missing}`;
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.join(', ');
      return `configuration key ${base} must be one of: ${allowed}`;
    }
    default: {
      const shown = secretConfigKeys.has(base) ? '' : ` (${error.message ?? 'invalid'})`;
      return `configuration key ${base || '(root)'} is invalid${shown}`;
    }
  }
}
