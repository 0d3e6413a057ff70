import type { Generated } from 'kysely';

/**
 * Table shapes as the database holds them. JSON documents are stored as text
 * and booleans as 0/1 so that one query code serves SQLite, PostgreSQL and
 * MariaDB/MySQL alike; timestamps are Tacker-format UTC strings
 * (`YYYY-MM-DD hh:mm:ss.ffffff`), which sort correctly as text.
 */
export interface VimsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  type: string;
  auth_url: string;
  /** JSON; secret values inside are encrypted envelopes. */
  auth_cred: string;
  vim_project: string;
  is_default: number;
  /** tenant_id when is_default, else NULL: a unique index on it allows one default per tenant on every dialect. */
  default_tenant: string | null;
  extra: string;
  status: string;
  placement_attr: string;
  created_at: string;
  updated_at: string | null;
  /** Bumped on every update; lets later writers detect concurrent changes. */
  revision: Generated<number>;
  /** JSON of the VIM's own monitor settings (overrides of the global ones), or NULL. */
  monitor_settings: string | null;
  /** JSON list of the VIM's conditions as its monitor last stored them (issue 10); NULL until first checked. */
  conditions: string | null;
  /** OK, DEGRADED or DOWN, derived from the conditions; NULL until first checked. */
  health: string | null;
  /** JSON of the capacity the deep checks measured; NULL until measured. */
  capacity: string | null;
  /** NULL while receivers got every status change; else the status they last got (a held change is pending a catch-up). */
  notified_status: Generated<string | null>;
}

/** One row per VIM: which monitor (by id) watches it and which worker runs it. */
export interface VimMonitorsTable {
  vim_id: string;
  /** Changes whenever the monitor is replaced; status writes carry it (fencing). */
  monitor_id: string;
  /**
   * The worker that runs the monitor, for as long as its heartbeat in `workers` is younger than lease_ttl (a lease
   * per worker, migration 0011); '' or a worker no longer live: free to claim.
   */
  owner: string;
  dispatched_at: string;
  replacements: Generated<number>;
  /** Unused since migration 0011 (it was a per-row lease): neither read nor written; 0 in rows made since. */
  lease_until_ms: Generated<number>;
}

/** Every worker process that runs monitors, with its last heartbeat. */
export interface WorkersTable {
  id: string;
  started_at_ms: number;
  heartbeat_ms: number;
  serves_api: number;
  /** The site, rack or network the worker declared (`manager.zone`); NULL when none. */
  zone: string | null;
}

/** One worker asked to confirm that a VIM is down (src/confirm): asked by `requester`, answered by `worker` in the same row. */
export interface VimConfirmationsTable {
  id: string;
  vim_id: string;
  requester: string;
  worker: string;
  requested_at_ms: number;
  /** After it the asked worker skips the row and the requester decides without its answer. */
  deadline_ms: number;
  /** NULL until answered. */
  answered_at_ms: number | null;
  /** 1: the asked worker found the VIM down; 0: up; NULL until answered. */
  down: number | null;
  /** What the asked worker's probes said (never a secret: the probes' own reasons). */
  reason: string | null;
}

/**
 * One row (id 1) whose `changes` moves with every VIM insert, update and
 * delete, in the same transaction: the sweep's one-row check for "did any
 * VIM change since I last read them all". Status and placement writes by
 * monitors do not move it (they change no revision, and every status flap
 * would make every sweep a full one).
 */
export interface VimChangeCounterTable {
  id: number;
  changes: number;
}

/**
 * Status changes (event_type 'MONITOR'), written in the same transaction as
 * the status itself, and condition changes (event_type 'HEALTH', old/new
 * status both the VIM's status at the time, the health change in detail).
 */
export interface VimEventsTable {
  id: Generated<number>;
  vim_id: string;
  tenant_id: string;
  monitor_id: string;
  event_type: string;
  old_status: string;
  new_status: string;
  reason: string;
  /** JSON: per-probe detail at the time of the change. */
  detail: string;
  created_at: string;
  vim_name: Generated<string>;
  /** NULL: sent to receivers; 'maintenance' or 'flapping': stored while the VIM's notifications were held. */
  held_by: Generated<string | null>;
}

/** A maintenance window: scope and schedule as JSON (src/maintenance/schedule.ts). */
export interface MaintenancesTable {
  id: string;
  tenant_id: string;
  reason: string;
  scope: string;
  schedule: string;
  created_at: string;
}

/** A delivery channel: a webhook subscription, or the AMQP notifier (kind 'amqp'). */
export interface SubscriptionsTable {
  id: string;
  kind: string;
  tenant_id: string;
  callback_url: string;
  /** Encrypted HMAC secret (empty for AMQP). */
  secret: string;
  /** JSON: { vim_ids?, statuses?, tenant_ids? } */
  filter: string;
  created_at: string;
  /** Last event id delivered (or dead-lettered); delivery resumes after it. */
  cursor_event_id: number;
  owner: Generated<string>;
  lease_until_ms: Generated<number>;
  next_attempt_ms: Generated<number>;
  retry_count: Generated<number>;
  attempts: Generated<number>;
  delivered: Generated<number>;
  failures: Generated<number>;
  dead_lettered: Generated<number>;
  last_error: string | null;
  last_attempt_at: string | null;
  last_success_at: string | null;
}

export interface DeadLettersTable {
  id: Generated<number>;
  subscription_id: string;
  event_id: number;
  attempts: number;
  last_error: string;
  dead_at: string;
}

/** One row (id 1): the id of the key that seals every stored secret. */
export interface SecretKeyCheckTable {
  id: number;
  key_id: string;
  pending_key_id: string | null;
  changed_at: string;
}

/** One VIM's status history for one UTC day (src/history; migration 0010). Durations in ms. */
export interface VimHistoryTable {
  vim_id: string;
  /** Days since 1970-01-01 UTC. */
  day: number;
  reachable_ms: number;
  unreachable_ms: number;
  pending_ms: number;
  /** Parts of reachable_ms and unreachable_ms spent inside a maintenance window. */
  maintenance_reachable_ms: number;
  maintenance_unreachable_ms: number;
  condition_changes: number;
  /** JSON: the day's ProbeStats per probe (src/history/model.ts). */
  probes: string;
  updated_at_ms: number;
}

/** The 24 hourly entries of a vim_history day, while they are kept (history.hourly_days). */
export interface VimHistoryHoursTable {
  vim_id: string;
  day: number;
  /** Compressed (src/history/codec.ts). */
  hours: Buffer;
}

/** A dashboard login (src/sessions/sessions): the cookie's id is stored only as its SHA-256. */
export interface UiSessionsTable {
  id_hash: string;
  csrf_token: string;
  /** The Keystone token, sealed like every stored secret. */
  token: string;
  user_id: string;
  user_name: string;
  project_id: string;
  project_name: string;
  /** JSON list of role names. */
  roles: string;
  created_at_ms: number;
  expires_at_ms: number;
}

export interface DatabaseSchema {
  vims: VimsTable;
  vim_monitors: VimMonitorsTable;
  vim_events: VimEventsTable;
  workers: WorkersTable;
  subscriptions: SubscriptionsTable;
  dead_letters: DeadLettersTable;
  vim_change_counter: VimChangeCounterTable;
  secret_key_check: SecretKeyCheckTable;
  maintenances: MaintenancesTable;
  vim_confirmations: VimConfirmationsTable;
  vim_history: VimHistoryTable;
  vim_history_hours: VimHistoryHoursTable;
  ui_sessions: UiSessionsTable;
}
