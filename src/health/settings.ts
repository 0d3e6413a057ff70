import { InvalidInputError } from '../errors.js';
import type { HealthSettings } from './deep-check.js';

/** A catalog service type as Keystone lists it (`compute`, `volumev3`, `block-storage`): short and label-safe, since it becomes a condition type and a metric label. */
const serviceType = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } as const;
const serviceList = { type: 'array', items: serviceType, uniqueItems: true, maxItems: 32 } as const;

/**
 * The deep checks' settings (issue 10) as a JSON schema shared by the
 * configuration file (`health:`, the global defaults) and a VIM's own
 * `monitor_settings.health`, which may override any key. The descriptions
 * are the documentation of both.
 */
export const healthSettingsProperties = {
  deep_interval: { type: 'number', minimum: 1, maximum: 86_400, description: 'seconds between deep checks of one VIM (catalog services, certificates, credentials, capacity); the fast probes keep `monitor.interval`' },
  required_services: { ...serviceList, description: 'catalog service types whose failure makes the VIM `UNREACHABLE` (health `DOWN`)' },
  watched_services: {
    ...serviceList,
    description: 'catalog service types, when present in the catalog, whose failure makes the VIM `DEGRADED` (status unchanged); a type also required counts as required',
  },
  endpoint_interface: { enum: ['public', 'internal', 'admin'], description: 'catalog interface whose endpoints are checked' },
  region: {
    type: ['string', 'null'],
    minLength: 1,
    maxLength: 255,
    // Keystone's region ids are free text: any printable string, never a control character (it is shown in reasons and logs).
    pattern: '^[^\\x00-\\x1f\\x7f-\\x9f]*$',
    description:
      'catalog region whose endpoints are checked (`Service:<type>`) and measured (`Capacity`: Placement and compute quotas); `null` checks every region. A region absent from the catalog fails the required services',
  },
  expiry_warning_days: { type: 'number', minimum: 0, maximum: 3_650, description: 'days before a certificate or credential expires from which it is a warning' },
  capacity_warning_ratio: { type: 'number', minimum: 0, maximum: 1, description: 'share of free capacity (0..1) under which `Capacity` is a warning' },
  nodes_ready_warning_ratio: { type: 'number', minimum: 0, maximum: 1, description: 'share of Ready Kubernetes nodes (0..1) under which `NodesReady` is a warning' },
} as const;

export const DEFAULT_HEALTH_SETTINGS: HealthSettings = {
  deep_interval: 60,
  required_services: ['identity'],
  watched_services: ['compute', 'network', 'image', 'placement', 'orchestration', 'volumev3', 'block-storage'],
  endpoint_interface: 'public',
  region: null,
  expiry_warning_days: 14,
  capacity_warning_ratio: 0.1,
  nodes_ready_warning_ratio: 1,
};

export type HealthSettingsOverride = Partial<HealthSettings>;

/**
 * Global defaults overlaid with a VIM's own health settings. A service the
 * VIM requires leaves the watched list (requiring a watched service is how
 * a VIM makes it required); one override naming a service as both is refused.
 */
export function effectiveHealthSettings(defaults: HealthSettings, override: HealthSettingsOverride | null | undefined): HealthSettings {
  checkHealthOverride(override, override ? 'monitor_settings.health' : 'health');
  const settings = { ...defaults, ...(override ?? {}) };
  const required = new Set(settings.required_services);
  return { ...settings, watched_services: settings.watched_services.filter((type) => !required.has(type)) };
}

export function checkHealthOverride(override: HealthSettingsOverride | null | undefined, where: string): void {
  const both = override?.required_services?.find((type) => override.watched_services?.includes(type));
  if (both !== undefined) throw new InvalidInputError(`${where}: service type '${both}' cannot be both required and watched`);
}
