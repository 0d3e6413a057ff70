import { InvalidInputError } from '../errors.js';
import { PROBE_NAMES, type ProbeName } from '../probes/probe.js';

/** How one VIM is watched. Global defaults come from `monitor:` in the configuration; a VIM may override any key. */
export interface MonitorSettings {
  probes: ProbeName[];
  /** Seconds between rounds. */
  interval: number;
  /** Seconds a probe may take before it counts as failed. */
  timeout: number;
  /** Consecutive failed rounds before REACHABLE becomes UNREACHABLE. */
  failure_threshold: number;
  /** Consecutive good rounds before UNREACHABLE becomes REACHABLE. */
  success_threshold: number;
  /** Seconds between credential checks while they succeed (they are retried every round while they fail). */
  auth_interval: number;
}

export type MonitorSettingsOverride = Partial<MonitorSettings>;

export const DEFAULT_MONITOR_SETTINGS: MonitorSettings = {
  probes: ['icmp', 'api'],
  interval: 10,
  timeout: 3,
  failure_threshold: 3,
  success_threshold: 2,
  auth_interval: 300,
};

/** JSON schema of the settings, shared by the configuration file and the VIM API. */
export const monitorSettingsProperties = {
  probes: { type: 'array', items: { enum: [...PROBE_NAMES] }, uniqueItems: true, minItems: 1 },
  interval: { type: 'number', minimum: 0.2, maximum: 86_400 },
  timeout: { type: 'number', minimum: 0.05, maximum: 600 },
  failure_threshold: { type: 'integer', minimum: 1, maximum: 100 },
  success_threshold: { type: 'integer', minimum: 1, maximum: 100 },
  auth_interval: { type: 'number', minimum: 1, maximum: 86_400 },
} as const;

/** Global defaults overlaid with a VIM's own settings, checked for consistency. */
export function effectiveSettings(defaults: MonitorSettings, override: MonitorSettingsOverride | null | undefined): MonitorSettings {
  const settings = { ...defaults, ...(override ?? {}) };
  checkConsistency(settings, override ? 'monitor_settings' : 'monitor');
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
