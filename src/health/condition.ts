/**
 * Layered health (issue 10): what "usable" means beyond Tacker's status.
 *
 * `status` stays Tacker's three values and means "every required check
 * passes". Everything finer is a list of Kubernetes-style conditions, one per
 * type, and a derived `health`. Checks report ConditionResults; the monitor
 * keeps them as Conditions (with since/last_checked) and derives the rest.
 */

/** The layers in the order a verdict names the first failing one: a cloud whose Keystone is down reports that, not twelve service failures. */
export const HEALTH_LAYERS = ['network', 'tls', 'identity', 'authentication', 'services', 'capacity'] as const;
export type HealthLayer = (typeof HEALTH_LAYERS)[number];

/** As in Kubernetes: whether the condition holds; Unknown when it could not be checked (a lower layer failed, or not yet checked). */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/**
 * What a False condition means for the VIM: `error` for a required check
 * (the VIM is UNREACHABLE, health DOWN), `warning` for a watched one (health
 * DEGRADED, status unchanged), `info` for what is only reported.
 */
export type ConditionSeverity = 'error' | 'warning' | 'info';

/**
 * Condition types. Fixed names, plus `Service:<catalog type>` for OpenStack
 * catalog services (`Service:compute`, `Service:network`, …). A bounded set
 * per VIM: metrics carry one series per type, never free text.
 */
export const FIXED_CONDITION_TYPES = [
  'NetworkReachable',
  'IdentityAPI',
  'Authenticated',
  'CertificateValid',
  'CredentialValid',
  'Capacity',
  'NodesReady',
  'NamespaceExists',
] as const;
export type FixedConditionType = (typeof FIXED_CONDITION_TYPES)[number];
export type ServiceConditionType = `Service:${string}`;
export type ConditionType = FixedConditionType | ServiceConditionType;

/** What one check reports about one condition. */
export interface ConditionResult {
  type: ConditionType;
  layer: HealthLayer;
  status: ConditionStatus;
  severity: ConditionSeverity;
  /** Short human text safe to show any caller of the VIM: never a secret, never a refused address. */
  reason: string;
}

/** A condition as the VIM and the monitor view show it. */
export interface Condition extends ConditionResult {
  /** Tacker-format timestamp of the last change of `status`. */
  since: string;
  /** Tacker-format timestamp of the last check. */
  last_checked: string;
}

export type Health = 'OK' | 'DEGRADED' | 'DOWN';

/** Free capacity of a VIM per resource class (OpenStack: Placement's VCPU, MEMORY_MB, DISK_GB; Kubernetes: cpu, memory). */
export interface CapacityFigures {
  resources: Record<string, { total: number; used: number; free: number }>;
  /**
   * The VIM project's quotas where the compute API gives them (nova's
   * /limits: cores, ram in MB, instances). Absent when not measured (no
   * compute endpoint, Kubernetes, figures stored before quotas were read).
   */
  quotas?: Record<string, QuotaFigures>;
  /** Tacker-format timestamp of the measurement. */
  checked_at: string;
}

/** One project quota: `limit` and `free` null when unlimited (nova's -1); `free` is never negative (a quota lowered under the usage). */
export interface QuotaFigures {
  limit: number | null;
  used: number;
  free: number | null;
}
