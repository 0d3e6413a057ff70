/**
 * What one database of the shared PostgreSQL server costs, read from the
 * server's own statistics and from /proc: pg_stat_database (transactions,
 * rows, blocks, time spent executing), pg_stat_user_tables (rows written
 * per table), pg_stat_statements when the server preloads it, and the CPU of
 * the backends serving the database. The server is only read, never
 * reconfigured: pg_stat_statements is used only if it is already in
 * shared_preload_libraries, and created only in the benchmark's own database.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { cpuTimes, totalCpu } from './proc.js';

/** pg_stat_database counters of one database (PostgreSQL 14+ for active_time). */
export interface DatabaseCounters {
  xact_commit: number;
  xact_rollback: number;
  tup_returned: number;
  tup_fetched: number;
  tup_inserted: number;
  tup_updated: number;
  tup_deleted: number;
  blks_hit: number;
  blks_read: number;
  temp_bytes: number;
  /** ms spent executing statements in this database, summed over backends. */
  active_time_ms: number;
}

export interface TableCounters {
  n_tup_ins: number;
  n_tup_upd: number;
  n_tup_del: number;
  seq_scan: number;
  idx_scan: number;
}

export interface StatementCounters {
  query: string;
  calls: number;
  total_exec_time_ms: number;
  rows: number;
}

export interface PgSnapshot {
  /** Monotonic ms (performance.now) when taken. */
  at: number;
  database: DatabaseCounters;
  tables: Record<string, TableCounters>;
  /** By queryid; undefined when pg_stat_statements is not available. */
  statements: Record<string, StatementCounters> | undefined;
  /** CPU seconds (utime + stime) of each backend serving the database, by pid. */
  backendCpu: Record<string, number>;
  /** CPU seconds of every postgres process of the server: other databases of the shared server included. */
  serverCpu: number;
  sizeBytes: number;
  connections: number;
}

const num = (value: unknown): number => Number(value ?? 0);

/** Whether pg_stat_statements can be used without restarting the server, and why not when it cannot. */
export async function statementsAvailability(client: pg.Client): Promise<{ available: true } | { available: false; reason: string }> {
  const { rows } = await client.query<{ libs: string }>("SELECT current_setting('shared_preload_libraries') AS libs");
  const libs = (rows[0]?.libs ?? '').split(',').map((l) => l.trim());
  if (!libs.includes('pg_stat_statements')) {
    return { available: false, reason: 'pg_stat_statements is not in shared_preload_libraries; loading it needs a server restart, which this benchmark never does' };
  }
  try {
    // Only in the benchmark's own database, which is dropped afterwards.
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    return { available: true };
  } catch (error) {
    return { available: false, reason: `CREATE EXTENSION pg_stat_statements failed: ${(error as Error).message}` };
  }
}

/** postgres processes of this machine (the server runs here: its backends are readable in /proc). */
function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function cpuOf(pid: number): number | undefined {
  try {
    return totalCpu(cpuTimes(pid));
  } catch {
    return undefined;
  }
}

/** One reading of every counter, through `client`, a connection to the measured database itself. */
export async function pgSnapshot(client: pg.Client, database: string, withStatements: boolean): Promise<PgSnapshot> {
  // Statistics are cached per transaction ('cache' consistency): drop the cache so this reading is fresh.
  await client.query('SELECT pg_stat_clear_snapshot()');
  const at = performance.now();
  const db = (
    await client.query<Record<string, string>>(
      `SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted,
              blks_hit, blks_read, temp_bytes, active_time, pg_database_size(datname) AS size
         FROM pg_stat_database WHERE datname = $1`,
      [database],
    )
  ).rows[0];
  if (!db) throw new Error(`no pg_stat_database row for ${database}`);
  const tables: Record<string, TableCounters> = {};
  for (const row of (await client.query<Record<string, string>>('SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, seq_scan, idx_scan FROM pg_stat_user_tables')).rows) {
    tables[row.relname!] = { n_tup_ins: num(row.n_tup_ins), n_tup_upd: num(row.n_tup_upd), n_tup_del: num(row.n_tup_del), seq_scan: num(row.seq_scan), idx_scan: num(row.idx_scan) };
  }
  let statements: Record<string, StatementCounters> | undefined;
  if (withStatements) {
    statements = {};
    const { rows } = await client.query<Record<string, string>>(
      `SELECT queryid::text AS id, query, calls, total_exec_time, rows FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)`,
      [database],
    );
    for (const row of rows) statements[row.id!] = { query: row.query!, calls: num(row.calls), total_exec_time_ms: num(row.total_exec_time), rows: num(row.rows) };
  }
  const backends = (await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database])).rows;
  const backendCpu: Record<string, number> = {};
  for (const { pid } of backends) {
    const cpu = cpuOf(pid);
    if (cpu !== undefined) backendCpu[String(pid)] = cpu;
  }
  let serverCpu = 0;
  for (const pid of postgresPids()) serverCpu += cpuOf(pid) ?? 0;
  return {
    at,
    database: {
      xact_commit: num(db.xact_commit),
      xact_rollback: num(db.xact_rollback),
      tup_returned: num(db.tup_returned),
      tup_fetched: num(db.tup_fetched),
      tup_inserted: num(db.tup_inserted),
      tup_updated: num(db.tup_updated),
      tup_deleted: num(db.tup_deleted),
      blks_hit: num(db.blks_hit),
      blks_read: num(db.blks_read),
      temp_bytes: num(db.temp_bytes),
      active_time_ms: num(db.active_time),
    },
    tables,
    statements,
    backendCpu,
    serverCpu,
    sizeBytes: num(db.size),
    connections: backends.length,
  };
}

export interface PgLoad {
  seconds: number;
  /** Per second over the window. */
  per_second: DatabaseCounters & { rows_written: number };
  /** Share of one core the database's statements ran, from active_time. */
  active_percent: number;
  /** CPU of the backends serving this database, % of one core (backends that ended within the window are missed). */
  backend_cpu_percent: number;
  /** CPU of every postgres process of the shared server, % of one core: other helpers' databases included, so an upper bound. */
  server_cpu_percent: number;
  /** Rows written per second by table, busiest first. */
  tables: Array<{ table: string; ins: number; upd: number; del: number; seq_scan: number; idx_scan: number }>;
  /** The statements that ran most often, per second; or why there are none. */
  statements: Array<{ query: string; calls: number; exec_ms: number; rows: number }> | { skipped: string };
  size_mb: number;
  size_growth_kb_per_s: number;
  connections: number;
}

/** Rates between two snapshots. */
export function pgLoad(from: PgSnapshot, to: PgSnapshot, statementsSkipped: string | undefined): PgLoad {
  const seconds = (to.at - from.at) / 1000;
  const rate = (a: number, b: number) => (b - a) / seconds;
  const perSecond = Object.fromEntries(
    Object.keys(to.database).map((key) => [key, rate(from.database[key as keyof DatabaseCounters], to.database[key as keyof DatabaseCounters])]),
  ) as unknown as DatabaseCounters;
  const tables = Object.entries(to.tables)
    .map(([table, t]) => {
      const f = from.tables[table] ?? { n_tup_ins: 0, n_tup_upd: 0, n_tup_del: 0, seq_scan: 0, idx_scan: 0 };
      return { table, ins: rate(f.n_tup_ins, t.n_tup_ins), upd: rate(f.n_tup_upd, t.n_tup_upd), del: rate(f.n_tup_del, t.n_tup_del), seq_scan: rate(f.seq_scan, t.seq_scan), idx_scan: rate(f.idx_scan, t.idx_scan) };
    })
    .filter((t) => t.ins + t.upd + t.del + t.seq_scan + t.idx_scan > 0)
    .sort((a, b) => b.ins + b.upd + b.del - (a.ins + a.upd + a.del));
  let backendCpu = 0;
  for (const [pid, cpu] of Object.entries(to.backendCpu)) {
    // A backend that appeared within the window: all its CPU was spent in it (it was forked after the first reading).
    backendCpu += cpu - (from.backendCpu[pid] ?? 0);
  }
  let statements: PgLoad['statements'];
  if (statementsSkipped !== undefined || !to.statements || !from.statements) {
    statements = { skipped: statementsSkipped ?? 'pg_stat_statements not read' };
  } else {
    statements = Object.entries(to.statements)
      .map(([id, s]) => {
        const f = from.statements![id] ?? { calls: 0, total_exec_time_ms: 0, rows: 0 };
        return { query: s.query.replace(/\s+/g, ' ').slice(0, 200), calls: rate(f.calls, s.calls), exec_ms: rate(f.total_exec_time_ms, s.total_exec_time_ms), rows: rate(f.rows, s.rows) };
      })
      .filter((s) => s.calls > 0)
      .sort((a, b) => b.calls - a.calls)
      .slice(0, 20);
  }
  return {
    seconds,
    per_second: { ...perSecond, rows_written: perSecond.tup_inserted + perSecond.tup_updated + perSecond.tup_deleted },
    active_percent: (perSecond.active_time_ms / 1000) * 100,
    backend_cpu_percent: (backendCpu / seconds) * 100,
    server_cpu_percent: ((to.serverCpu - from.serverCpu) / seconds) * 100,
    tables,
    statements,
    size_mb: to.sizeBytes / 2 ** 20,
    size_growth_kb_per_s: (to.sizeBytes - from.sizeBytes) / 1024 / seconds,
    connections: to.connections,
  };
}
