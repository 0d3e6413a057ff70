import { InvalidInputError } from '../errors.js';

/** The `confirm.*` configuration: how a down verdict is confirmed from other workers. */
export interface ConfirmSettings {
  enabled: boolean;
  /** Other workers asked at most. */
  count: number;
  /** Of those, how many must find the VIM down too (capped by how many could be asked). */
  quorum: number;
  /** Seconds the answers may take; undefined: max(2 × the VIM's timeout, 3 s). */
  deadline?: number;
  /** Seconds after other workers reached a VIM before its owner asks again while it still finds it down. */
  recheck: number;
  /** Seconds between polls of the request table. */
  poll_interval: number;
}

/** A VIM's own `monitor_settings.confirm`. */
export interface ConfirmOverride {
  enabled?: boolean;
  count?: number;
  quorum?: number;
}

export const confirmOverrideProperties = {
  enabled: { type: 'boolean', description: 'confirm this VIM\'s down verdicts from other workers (`confirm.enabled` otherwise)' },
  count: { type: 'integer', minimum: 1, maximum: 10, description: 'other workers asked at most (`confirm.count` otherwise)' },
  quorum: { type: 'integer', minimum: 1, maximum: 10, description: 'how many of them must find the VIM down too (`confirm.quorum` otherwise); not more than `count`' },
} as const;

/** Quorum larger than count can never be met: refused (400 for a VIM, a configuration error at start). */
export function checkQuorum(count: number | undefined, quorum: number | undefined, where: string): void {
  if (count !== undefined && quorum !== undefined && quorum > count) {
    throw new InvalidInputError(`${where}: quorum (${quorum}) must not be larger than count (${count})`);
  }
}

export const MIN_DEADLINE_SECONDS = 3;

/** The global settings overlaid with a VIM's own; the deadline from the VIM's timeout when none is configured. */
export function effectiveConfirm(defaults: ConfirmSettings, override: ConfirmOverride | undefined, timeoutSeconds: number): { enabled: boolean; count: number; quorum: number; deadlineMs: number } {
  const count = override?.count ?? defaults.count;
  return {
    enabled: override?.enabled ?? defaults.enabled,
    count,
    // An override of count alone may fall below the global quorum: the quorum is then all of them.
    quorum: Math.min(override?.quorum ?? defaults.quorum, count),
    deadlineMs: (defaults.deadline ?? Math.max(2 * timeoutSeconds, MIN_DEADLINE_SECONDS)) * 1000,
  };
}
