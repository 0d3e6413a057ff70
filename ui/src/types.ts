/** The API's shapes as the dashboard reads them (only what it shows). */

export type VimStatus = 'PENDING' | 'REACHABLE' | 'UNREACHABLE';
export type Health = 'OK' | 'DEGRADED' | 'DOWN';

export interface MaintenanceState {
  window_id: string;
  reason: string;
  [key: string]: unknown;
}

export interface Condition {
  type: string;
  layer: string;
  status: 'True' | 'False' | 'Unknown';
  severity: 'error' | 'warning' | 'info';
  reason: string;
  since: string;
  last_checked: string;
}

/** A row of the overview: the list is fetched with fields= for these only. */
export interface VimRow {
  id: string;
  name: string;
  tenant_id: string;
  type: string;
  status: VimStatus;
  health: Health | null;
  maintenance?: MaintenanceState | null;
}

export interface Vim extends VimRow {
  description: string;
  auth_url: string;
  is_default: boolean;
  created_at: string;
  updated_at: string | null;
  conditions: Condition[];
  capacity: { resources: Record<string, { total: number; used: number; free: number }>; checked_at: string } | null;
  monitor_settings: Record<string, unknown> | null;
}

export interface ProbeSeen {
  ok: boolean;
  latency_ms: number | null;
  reason: string;
  checked_at: string;
  consecutive_failures: number;
  consecutive_successes: number;
}

export interface Monitor {
  monitor_id: string;
  vim_id: string;
  owner: string;
  replacements: number;
  state: string;
  status?: VimStatus;
  status_since?: string;
  dispatched_at?: string;
  heartbeat_at: string | null;
  last_round_at: string | null;
  next_round_at: string | null;
  consecutive_failures?: number;
  consecutive_successes?: number;
  probes?: Record<string, ProbeSeen>;
  health: Health | null;
  failing_layer?: string | null;
  held?: { reason: string; since: string } | null;
  flapping?: { since: string; changes: number } | null;
  isolation?: string;
  settings?: Record<string, unknown>;
  maintenance?: MaintenanceState | null;
}

export interface VimEvent {
  id: number;
  resource_id: string;
  resource_name: string;
  resource_type: 'vim' | 'worker';
  resource_state: string;
  event_type: 'MONITOR' | 'HEALTH' | 'ISOLATION';
  timestamp: string;
  tenant_id: string;
  held_by?: string;
  event_details: {
    old_status?: VimStatus;
    new_status?: VimStatus;
    old_health?: Health | null;
    new_health?: Health;
    failing_layer?: string | null;
    changed?: string[];
    reason?: string;
    monitor_id?: string;
  };
}

export interface ProbeBucketStats {
  checks: number;
  failed: number;
  latency_ms: { p50: number | null; p95: number | null; max: number | null };
}

export interface HistoryBucket {
  start: string;
  end: string;
  reachable_s: number;
  unreachable_s: number;
  pending_s: number;
  unknown_s: number;
  maintenance_s: number;
  uptime: number | null;
  condition_changes: number;
  detail: 'hour' | 'day' | 'none';
  probes: Record<string, ProbeBucketStats>;
}

export interface History {
  vim_id: string;
  from: string;
  to: string;
  step: 'hour' | 'day';
  buckets: HistoryBucket[];
}

export interface Uptime {
  vim_id: string;
  vim_name: string;
  window: string;
  uptime: number | null;
  reachable_s: number;
  unreachable_s: number;
  pending_s: number;
  unknown_s: number;
  maintenance_s: number;
}

export interface Maintenance {
  id: string;
  tenant_id: string;
  reason: string;
  scope: { vim_ids?: string[]; tenant_id?: string; all?: boolean };
  start: string | null;
  end: string | null;
  recurrence: { days: string[]; start_time: string; duration: number; time_zone: string } | null;
  open_now: { since: string; until: string | null } | null;
}

export interface Session {
  strategy: 'keystone' | 'noauth';
  user_name: string;
  project_name?: string | null;
  project_id?: string | null;
  is_admin?: boolean;
  csrf_token: string;
  expires_at?: string | null;
}
