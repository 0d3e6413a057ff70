import type { FromSchema } from 'json-schema-to-ts';
import { InvalidInputError } from '../errors.js';
import { checkHealthOverride, healthSettingsProperties } from '../health/settings.js';
import { PROBE_NAMES } from '../probes/probe.js';
import { checkQuorum, confirmOverrideProperties } from '../confirm/settings.js';

/**
 * How one VIM is watched, as a JSON schema shared by the configuration file
 * (`monitor:`, the global defaults) and the VIM API (a VIM's own
 * `monitor_settings`, which may override any key). The descriptions are the
 * documentation of both.
 */
export const monitorSettingsProperties = {
  probes: {
    type: 'array',
    items: { enum: PROBE_NAMES },
    uniqueItems: true,
    minItems: 1,
    description: 'probes every VIM runs: `icmp`, `tcp`, `api`, `auth` (see [docs/probes.md](docs/probes.md))',
  },
  interval: { type: 'number', minimum: 0.2, maximum: 86_400, description: 'seconds between rounds' },
  timeout: { type: 'number', minimum: 0.05, maximum: 600, description: 'seconds a probe may take (must be shorter than `interval`)' },
  failure_threshold: {
    type: 'integer',
    minimum: 1,
    maximum: 100,
    description: 'consecutive failed rounds before `REACHABLE` becomes `UNREACHABLE`',
  },
  success_threshold: {
    type: 'integer',
    minimum: 1,
    maximum: 100,
    description: 'consecutive good rounds before `UNREACHABLE` becomes `REACHABLE`',
  },
  auth_interval: {
    type: 'number',
    minimum: 1,
    maximum: 86_400,
    description: 'seconds between credential checks while they succeed (every round while they fail)',
  },
  health: {
    type: 'object',
    additionalProperties: false,
    properties: healthSettingsProperties,
    description: 'the VIM\'s own deep-check settings (any key of `health.*`); the global `health` section otherwise',
  },
  confirm: {
    type: 'object',
    additionalProperties: false,
    properties: confirmOverrideProperties,
    description: 'the VIM\'s own confirmation of down verdicts by other workers (`enabled`, `count`, `quorum`); the global `confirm` section otherwise',
  },
} as const;

const monitorSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['probes', 'interval', 'timeout', 'failure_threshold', 'success_threshold', 'auth_interval'],
  properties: monitorSettingsProperties,
} as const;

export type MonitorSettings = FromSchema<typeof monitorSettingsSchema>;

export type MonitorSettingsOverride = Partial<MonitorSettings>;

export const DEFAULT_MONITOR_SETTINGS: MonitorSettings = {
  probes: ['icmp', 'api'],
  interval: 10,
  timeout: 3,
  failure_threshold: 3,
  success_threshold: 2,
  auth_interval: 300,
};

/** Global defaults overlaid with a VIM's own settings, checked for consistency. */
export function effectiveSettings(defaults: MonitorSettings, override: MonitorSettingsOverride | null | undefined): MonitorSettings {
  const settings = { ...defaults, ...(override ?? {}) };
  checkConsistency(settings, override ? 'monitor_settings' : 'monitor');
  checkHealthOverride(override?.health, 'monitor_settings.health');
  checkQuorum(override?.confirm?.count, override?.confirm?.quorum, 'monitor_settings.confirm');
  return settings;
}

export function checkConsistency(settings: MonitorSettings, where: string): void {
  // A round must end before the next one is due, or rounds pile up and the sweep sees a stuck monitor.
  if (settings.timeout >= settings.interval) {
    throw new InvalidInputError(`${where}: timeout (${settings.timeout} s) must be shorter than interval (${settings.interval} s)`);
  }
}

/** The detection bound an operator can rely on: interval × failure_threshold + timeout. */
export function detectionBoundSeconds(settings: MonitorSettings): number {
  return settings.interval * settings.failure_threshold + settings.timeout;
}
