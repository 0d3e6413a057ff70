import type { ProbeTarget } from '../probes/probe.js';
import type { CapacityFigures, ConditionResult } from './condition.js';

/**
 * The settings of the deep checks (issue 10), global in `health.*` and per
 * VIM in its monitor settings. Deep checks run on their own interval, never
 * more than one in flight per VIM; the fast probes keep theirs.
 */
export interface HealthSettings {
  /** Seconds between deep checks of one VIM (default 60). */
  deep_interval: number;
  /** Catalog service types whose failure makes the VIM UNREACHABLE (default [identity]). */
  required_services: string[];
  /** Catalog service types whose failure makes the VIM DEGRADED, when present in the catalog. */
  watched_services: string[];
  /** Catalog interface checked: public (default), internal or admin. */
  endpoint_interface: 'public' | 'internal' | 'admin';
  /**
   * Catalog region checked and measured; null or absent (the default) checks
   * every region. The operator's choice: Tacker's VIM has only the regions
   * discovered from the catalog (placement_attr.regions), not one to use.
   */
  region?: string | null;
  /** Days before a certificate or credential expires from which it is a warning (default 14). */
  expiry_warning_days: number;
  /** Share of free capacity (0..1) under which Capacity is a warning (default 0.1). */
  capacity_warning_ratio: number;
  /** Share of Ready Kubernetes nodes (0..1) under which NodesReady is a warning (default 1: any node not Ready). */
  nodes_ready_warning_ratio: number;
}

export interface DeepCheckInput {
  target: ProbeTarget;
  settings: HealthSettings;
  /** Aborts at the deep check's deadline; a check must settle by then with Unknown/False results, never reject for the target's fault. */
  signal: AbortSignal;
  now: Date;
}

export interface DeepCheckReport {
  conditions: ConditionResult[];
  /** Measured capacity, when this check measures it. */
  capacity?: CapacityFigures;
}

/** A deep check: a driver behind one interface, like the probes (docs/probes.md). */
export interface DeepCheck {
  readonly name: string;
  run(input: DeepCheckInput): Promise<DeepCheckReport>;
  /** Drops cached tokens, catalogs or connections of a VIM (deleted, or its credentials changed). */
  forget?(vimId: string): void;
  close?(): Promise<void>;
}
