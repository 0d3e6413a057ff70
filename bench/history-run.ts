/**
 * The history phase (issue 12): can vim_history hold 10,000 VIMs × months
 * of flapping history, and stay fast to read and to prune? Unlike the other
 * phases this one runs the store code in-process (openStore,
 * migrateToLatest, VimRepository, HistoryRepository: the SQL the service
 * runs) against a throw-away SQLite file and a throw-away PostgreSQL
 * database; no network, no root.
 *
 * Per dialect: insert the VIMs and their monitor rows (so that the fenced
 * save writes), save `days` whole days per VIM oldest first, one day of
 * every VIM at a time (as the recorder writes), measure the size, time
 * one flush of every VIM's current day, time uptime and history reads,
 * then prune as the pruner would: hourly detail beyond `hourlyDays`, then
 * whole days beyond `deleteAfterDays`, in batches.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import { admin, dropStaleDatabases } from './pg-admin.js';
import { HistoryReader } from '../src/history/history-reader.js';
import { DAY_MS, dayOf, HOUR_MS, type HistoryDay } from '../src/history/model.js';
import { openStore, type Store } from '../src/store/database.js';
import { HistoryRepository, type PruneStep } from '../src/store/history-repository.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { VimRepository } from '../src/store/vim-repository.js';
import type { VimRecord } from '../src/vims/model.js';
import { MIX, synthDay } from './history-synth.js';
import { fmt, nowMs, percentile, pool, round } from './util.js';

export type HistoryDialect = 'sqlite' | 'postgres';

export interface HistoryRunOptions {
  dialects: HistoryDialect[];
  vims: number;
  /** Days written per VIM, the last one being today (covered up to now). */
  days: number;
  /** Hourly detail kept for this many days (history.hourly_days); older days lose their hours in the prune pass. */
  hourlyDays: number;
  /** Days older than this are deleted in the prune pass (stands in for history.daily_days, which the written span never reaches). */
  deleteAfterDays: number;
  pruneBatch: number;
  repetitions: number;
  adminUrl: string;
  workDir: string;
  log: (line: string) => void;
}

interface Timing {
  repetitions: number;
  p50_ms: number;
  p95_ms: number;
  max_ms: number;
}

interface PrunePass {
  cutoff_day_ago: number;
  rows: number;
  /** Steps of prune_batch VIMs each. */
  batches: number;
  seconds: number;
  rows_per_s: number;
  batch_p50_ms: number | null;
  batch_p95_ms: number | null;
  batch_max_ms: number | null;
  /** A further whole walk (every VIM) once nothing is left to do: what every later pass costs. */
  idle_call_ms: number;
}

interface Size {
  /** SQLite: the file plus its WAL after a checkpoint; PostgreSQL: the whole database. */
  database_bytes: number;
  /** vim_history + vim_history_hours. SQLite: their pages and indexes (dbstat); PostgreSQL: pg_total_relation_size. */
  history_bytes: number | null;
  /** Of which vim_history_hours (the hourly detail), the same way. */
  hours_table_bytes: number | null;
  history_rows: number;
  rows_with_hours: number;
  /** Average stored bytes of the `hours` blob and of the `probes` text. */
  avg_hours_blob_bytes: number | null;
  avg_probes_bytes: number | null;
}

export interface HistoryDialectResult {
  dialect: HistoryDialect;
  server: string;
  setup: { vims_seconds: number; monitors_seconds: number };
  /** cpu_*: this process's user + system CPU (the database server's is not in it); under contention rows/s fall, CPU per row does not. */
  load: { rows: number; seconds: number; rows_per_s: number; synth_seconds: number; save_seconds: number; save_cpu_seconds: number; save_cpu_us_per_row: number };
  size_after_load: Size;
  bytes_per_vim_day: number;
  history_bytes_per_vim_day: number | null;
  /** A day's row without hours (vim_history and its primary key), and what its hours add (vim_history_hours and its key). */
  day_row_bytes: number | null;
  hours_row_bytes: number | null;
  flush: Timing & { rows: number; rows_per_s: number; cpu_ms: number };
  queries: Record<string, Timing & { rows: number }>;
  prune: { drop_hours: PrunePass; delete_days: PrunePass };
  size_after_prune: Size;
  /** Steady state at the defaults (90 days hourly, 730 days in all) from the measured bytes per row. */
  projection_10k_default_retention_bytes: number | null;
  peak_rss_mb_so_far: number;
  /** 1-minute load average of the machine when the dialect's run began and ended (other sessions share it). */
  load_average: { start: number; end: number };
  seconds: number;
}

export interface HistoryResult {
  vims: number;
  days: number;
  hourly_days: number;
  delete_after_days: number;
  prune_batch: number;
  mix: typeof MIX;
  today: string;
  uptime_sum: string;
  results: HistoryDialectResult[];
  errors: Array<{ dialect: HistoryDialect; error: string }>;
  peak_rss_mb: number;
}

const vimId = (index: number) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
const monitorOf = (index: number) => `bench-monitor-${index}`;
const peakRssMb = () => round(process.resourceUsage().maxRSS / 1024, 0);

/** Why PostgreSQL cannot take part, or undefined. */
export async function historyPostgresUnavailable(adminUrl: string): Promise<string | undefined> {
  try {
    await admin(adminUrl, (c) => c.query('SELECT 1'));
    return undefined;
  } catch (error) {
    return `PostgreSQL is not reachable at ${adminUrl.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message})`;
  }
}

export async function runHistory(options: HistoryRunOptions): Promise<HistoryResult> {
  const nowEpoch = Date.now();
  const results: HistoryDialectResult[] = [];
  const errors: HistoryResult['errors'] = [];
  mkdirSync(options.workDir, { recursive: true });
  for (const dialect of options.dialects) {
    options.log(`  history on ${dialect}: ${options.vims} VIMs × ${options.days} days`);
    try {
      results.push(await runOne(dialect, options, nowEpoch));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      options.log(`  history on ${dialect} failed: ${message}`);
      errors.push({ dialect, error: message });
    }
  }
  return {
    vims: options.vims,
    days: options.days,
    hourly_days: options.hourlyDays,
    delete_after_days: options.deleteAfterDays,
    prune_batch: options.pruneBatch,
    mix: MIX,
    today: new Date(nowEpoch).toISOString(),
    uptime_sum: 'HistoryReader.uptimes (src/history/history-reader.ts): whole days summed in SQL (HistoryRepository.sums), edge days read with hours',
    results,
    errors,
    peak_rss_mb: peakRssMb(),
  };
}

async function runOne(dialect: HistoryDialect, options: HistoryRunOptions, nowEpoch: number): Promise<HistoryDialectResult> {
  const { log } = options;
  const startedAt = nowMs();
  const loadAtStart = round(loadavg()[0]!, 1);
  let url: string;
  let server: string;
  let drop: () => Promise<void> = async () => undefined;
  let sqliteFile: string | undefined;
  if (dialect === 'sqlite') {
    sqliteFile = join(options.workDir, 'history.db');
    url = `sqlite:${sqliteFile}`;
    server = 'better-sqlite3 (WAL)';
  } else {
    await dropStaleDatabases(options.adminUrl, 'vimbench_history_', log);
    const database = `vimbench_history_${process.pid}_${randomBytes(3).toString('hex')}`;
    await admin(options.adminUrl, (c) => c.query(`CREATE DATABASE ${database}`));
    drop = () => admin(options.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).then(() => undefined);
    const parsed = new URL(options.adminUrl);
    parsed.pathname = `/${database}`;
    url = parsed.toString();
    server = await admin(options.adminUrl, async (c) => (await c.query<{ v: string }>('SHOW server_version')).rows[0]!.v).then((v) => `PostgreSQL ${v}`);
  }
  const store = openStore(url, { poolSize: 4 });
  try {
    await migrateToLatest(store);
    const setup = await insertVims(store, options.vims, dialect === 'sqlite' ? 1 : 8);
    log(`    ${options.vims} VIMs inserted in ${setup.vims_seconds} s (VimRepository.insert), monitor rows in ${setup.monitors_seconds} s`);
    const history = new HistoryRepository(store);
    const today = dayOf(nowEpoch);
    const todayCoveredMs = nowEpoch - today * DAY_MS;

    // The load: one day of every VIM at a time, oldest day first.
    let synthMs = 0;
    let saveMs = 0;
    let saveCpuUs = 0;
    let rows = 0;
    const started = nowMs();
    for (let back = options.days - 1; back >= 0; back--) {
      const day = today - back;
      const t0 = nowMs();
      const days: Array<{ monitorId: string; day: HistoryDay }> = [];
      for (let i = 0; i < options.vims; i++) days.push({ monitorId: monitorOf(i), day: synthDay(vimId(i), i, day, back === 0 ? todayCoveredMs : undefined) });
      const t1 = nowMs();
      const cpu0 = process.cpuUsage();
      const fenced = await history.save(days);
      const cpu = process.cpuUsage(cpu0);
      saveCpuUs += cpu.user + cpu.system;
      if (fenced.length > 0) throw new Error(`${fenced.length} days fenced off: the monitor rows are not the bench's`);
      const t2 = nowMs();
      synthMs += t1 - t0;
      saveMs += t2 - t1;
      rows += days.length;
      // better-sqlite3 answers synchronously: without a turn of the event loop, SIGINT and --max-minutes would wait for the whole load.
      await yieldToEventLoop();
      if (back % 10 === 0) log(`    day −${back}: ${rows} rows, ${round(rows / (saveMs / 1000), 0)} rows/s in save`);
    }
    const loadSeconds = round((nowMs() - started) / 1000, 1);
    const load = { rows, seconds: loadSeconds, rows_per_s: round(rows / (saveMs / 1000), 0), synth_seconds: round(synthMs / 1000, 1), save_seconds: round(saveMs / 1000, 1), save_cpu_seconds: round(saveCpuUs / 1e6, 1), save_cpu_us_per_row: round(saveCpuUs / rows, 0) };
    const sizeAfterLoad = await measureSize(store, sqliteFile);
    log(`    loaded ${rows} rows in ${loadSeconds} s (${load.rows_per_s} rows/s in save); database ${mb(sizeAfterLoad.database_bytes)} MB`);

    // One flush: every VIM's current day saved again (the recorder does this every history.flush_interval).
    const todays = Array.from({ length: options.vims }, (_, i) => ({ monitorId: monitorOf(i), day: synthDay(vimId(i), i, today, todayCoveredMs) }));
    const flushSamples: number[] = [];
    const flushCpu0 = process.cpuUsage();
    for (let r = 0; r < 5; r++) {
      const t0 = nowMs();
      await history.save(todays);
      flushSamples.push(nowMs() - t0);
    }
    const flushCpu = process.cpuUsage(flushCpu0);
    const flushTiming = timing(flushSamples);
    const flush = { ...flushTiming, rows: options.vims, rows_per_s: round(options.vims / (flushTiming.p50_ms / 1000), 0), cpu_ms: round((flushCpu.user + flushCpu.system) / 5000, 0) };
    log(`    one flush of ${options.vims} current days: ${flush.p50_ms} ms (median of 5)`);

    const queries = await timeQueries(history, options, today, nowEpoch);
    for (const [name, q] of Object.entries(queries)) log(`    ${name}: p50 ${q.p50_ms} ms, p95 ${q.p95_ms} ms`);

    const dropHours = await prunePass((limit, after) => history.dropHours(today - options.hourlyDays + 1, limit, after), options.pruneBatch, options.hourlyDays);
    log(`    dropHours before day −${options.hourlyDays - 1}: ${dropHours.rows} rows in ${dropHours.seconds} s, idle call ${dropHours.idle_call_ms} ms`);
    const deleteDays = await prunePass((limit, after) => history.deleteBefore(today - options.deleteAfterDays + 1, limit, after), options.pruneBatch, options.deleteAfterDays);
    log(`    deleteBefore day −${options.deleteAfterDays - 1}: ${deleteDays.rows} rows in ${deleteDays.seconds} s, idle call ${deleteDays.idle_call_ms} ms`);
    const sizeAfterPrune = await measureSize(store, sqliteFile);

    const vimDays = options.vims * options.days;
    const projection = projectDefaultRetention(sizeAfterLoad);
    return {
      dialect,
      server,
      setup,
      load,
      size_after_load: sizeAfterLoad,
      bytes_per_vim_day: round(sizeAfterLoad.database_bytes / vimDays, 0),
      history_bytes_per_vim_day: sizeAfterLoad.history_bytes === null ? null : round(sizeAfterLoad.history_bytes / vimDays, 0),
      ...rowBytes(sizeAfterLoad),
      flush,
      queries,
      prune: { drop_hours: dropHours, delete_days: deleteDays },
      size_after_prune: sizeAfterPrune,
      projection_10k_default_retention_bytes: projection,
      peak_rss_mb_so_far: peakRssMb(),
      load_average: { start: loadAtStart, end: round(loadavg()[0]!, 1) },
      seconds: round((nowMs() - startedAt) / 1000, 0),
    };
  } finally {
    await store.close();
    await drop().catch((error: unknown) => log(`    could not drop the benchmark's database: ${String(error)}`));
  }
}

/** Bytes of a day's row (vim_history with its key) and of its hours (vim_history_hours with its key), after the load. */
function rowBytes(afterLoad: Size): { day_row_bytes: number | null; hours_row_bytes: number | null } {
  if (afterLoad.history_bytes === null || afterLoad.hours_table_bytes === null || afterLoad.history_rows === 0 || afterLoad.rows_with_hours === 0) {
    return { day_row_bytes: null, hours_row_bytes: null };
  }
  return {
    day_row_bytes: round((afterLoad.history_bytes - afterLoad.hours_table_bytes) / afterLoad.history_rows, 0),
    hours_row_bytes: round(afterLoad.hours_table_bytes / afterLoad.rows_with_hours, 0),
  };
}

/**
 * The steady state at history.hourly_days and history.daily_days at their
 * defaults: 10,000 VIMs × (730 day rows + 90 rows of hours), from the
 * measured bytes per row of each table.
 */
function projectDefaultRetention(afterLoad: Size): number | null {
  const { day_row_bytes: day, hours_row_bytes: hours } = rowBytes(afterLoad);
  if (day === null || hours === null) return null;
  return Math.round(10_000 * (730 * day + 90 * hours));
}

async function insertVims(store: Store, count: number, concurrency: number): Promise<{ vims_seconds: number; monitors_seconds: number }> {
  const vims = new VimRepository(store);
  const t0 = nowMs();
  await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    (i) => vims.insert(vimRecord(i)),
  );
  const t1 = nowMs();
  // The monitor rows straight into vim_monitors (MonitorRepository.assign makes one round trip per VIM and adds nothing to measure here).
  const at = '2026-01-01 00:00:00.000000';
  for (let start = 0; start < count; start += 500) {
    const rows = [];
    for (let i = start; i < Math.min(count, start + 500); i++) rows.push({ vim_id: vimId(i), monitor_id: monitorOf(i), owner: 'bench', dispatched_at: at, lease_until_ms: 0 });
    await store.db.insertInto('vim_monitors').values(rows).execute();
  }
  return { vims_seconds: round((t1 - t0) / 1000, 1), monitors_seconds: round((nowMs() - t1) / 1000, 1) };
}

function vimRecord(i: number): VimRecord {
  return {
    id: vimId(i),
    tenantId: `tenant-${i % 50}`,
    name: `vim-${String(i).padStart(5, '0')}`,
    description: '',
    type: 'openstack',
    authUrl: `http://127.0.${Math.floor(i / 250)}.${(i % 250) + 1}:5000/v3`,
    sealedAuthCred: {},
    vimProject: { name: 'default' },
    isDefault: false,
    extra: {},
    status: 'REACHABLE',
    placementAttr: { regions: [] },
    conditions: [],
    health: null,
    capacity: null,
    createdAt: '2026-01-01 00:00:00.000000',
    updatedAt: null,
    revision: 1,
    monitorSettings: null,
  };
}

async function timeQueries(history: HistoryRepository, options: HistoryRunOptions, today: number, nowEpoch: number): Promise<HistoryDialectResult['queries']> {
  let seed = 12345;
  const pick = (below: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % below;
  };
  const measure = async (work: () => Promise<number>) => {
    const samples: number[] = [];
    let rows = 0;
    await work(); // warm-up: first statement preparation, not what a user waits for
    for (let r = 0; r < options.repetitions; r++) {
      const t0 = nowMs();
      rows = await work();
      samples.push(nowMs() - t0);
    }
    return { ...timing(samples), rows };
  };
  // The service's reader (as GET /v1.0/uptime after its VIM list query): the window ends now, the bench's today.
  const reader = new HistoryReader({
    registry: { get: async (_ctx, id) => vimRecord(Number(id.slice(-12))) },
    history,
    clock: { now: () => new Date(nowEpoch) },
    flushIntervalMs: 60_000,
  });
  const uptimeOf = (ids: string[], days: 30 | 90) => async () => {
    const uptimes = await reader.uptimes(
      ids.map((id) => vimRecord(Number(id.slice(-12)))),
      days === 30 ? '30d' : '90d',
      false,
    );
    if (uptimes.filter((entry) => entry.uptime !== null).length !== ids.length) throw new Error(`uptime of ${ids.length} VIMs found ${uptimes.length}`);
    return uptimes.length;
  };
  const page = () => {
    const start = pick(Math.max(1, options.vims - 100));
    return Array.from({ length: Math.min(100, options.vims) }, (_, k) => vimId(start + k));
  };
  return {
    'uptime, one VIM, 90 days': await measure(() => uptimeOf([vimId(pick(options.vims))], 90)()),
    'uptime, one VIM, 30 days': await measure(() => uptimeOf([vimId(pick(options.vims))], 30)()),
    'history, one VIM, 24 h hourly': await measure(async () => {
      const from = nowEpoch - DAY_MS;
      const read = await history.read([vimId(pick(options.vims))], dayOf(from), today, { hours: true });
      // The 24 hour buckets of the window, as the history endpoint would give them.
      let buckets = 0;
      for (const d of read) {
        d.hours?.forEach((hour, index) => {
          const start = d.day * DAY_MS + index * HOUR_MS;
          if (hour && start + HOUR_MS > from && start < nowEpoch) buckets += 1;
        });
      }
      if (buckets === 0) throw new Error('no hourly history read back');
      return read.length;
    }),
    'uptime, page of 100 VIMs, 30 days': await measure(() => uptimeOf(page(), 30)()),
    'uptime, page of 100 VIMs, 90 days': await measure(() => uptimeOf(page(), 90)()),
  };
}

/** A walk as HistoryRetention makes it: prune_batch VIMs a step, from the first VIM to the last. */
async function walk(call: (limit: number, after: string) => Promise<PruneStep>, batch: number, samples: number[]): Promise<number> {
  let rows = 0;
  let after = '';
  for (let more = true; more; ) {
    const t0 = nowMs();
    const step = await call(batch, after);
    samples.push(nowMs() - t0);
    rows += step.changed;
    ({ more } = step);
    after = step.lastVimId;
  }
  return rows;
}

async function prunePass(call: (limit: number, after: string) => Promise<PruneStep>, batch: number, cutoffDaysAgo: number): Promise<PrunePass> {
  const samples: number[] = [];
  const started = nowMs();
  const rows = await walk(call, batch, samples);
  const seconds = (nowMs() - started) / 1000;
  const t0 = nowMs();
  await walk(call, batch, []);
  const idle = nowMs() - t0;
  const p = (q: number) => (samples.length > 0 ? round(percentile(samples, q)!, 1) : null);
  return {
    cutoff_day_ago: cutoffDaysAgo,
    rows,
    batches: samples.length,
    seconds: round(seconds, 1),
    rows_per_s: seconds > 0 ? round(rows / seconds, 0) : 0,
    batch_p50_ms: p(0.5),
    batch_p95_ms: p(0.95),
    batch_max_ms: samples.length > 0 ? round(Math.max(...samples), 1) : null,
    idle_call_ms: round(idle, 1),
  };
}

async function measureSize(store: Store, sqliteFile: string | undefined): Promise<Size> {
  const length = sql.raw(store.dialect === 'postgres' ? 'octet_length' : 'length');
  const counts = await sql<{ rows: number | string; with_hours: number | string; hours_bytes: number | string | null; probes_bytes: number | string | null }>`
    SELECT (SELECT COUNT(*) FROM vim_history) AS rows, (SELECT COUNT(*) FROM vim_history_hours) AS with_hours,
      (SELECT AVG(${length}(hours)) FROM vim_history_hours) AS hours_bytes,
      (SELECT AVG(${length}(probes)) FROM vim_history) AS probes_bytes`.execute(store.db);
  const c = counts.rows[0]!;
  const common = {
    history_rows: Number(c.rows),
    rows_with_hours: Number(c.with_hours),
    avg_hours_blob_bytes: c.hours_bytes === null ? null : round(Number(c.hours_bytes), 0),
    avg_probes_bytes: c.probes_bytes === null ? null : round(Number(c.probes_bytes), 0),
  };
  if (store.dialect === 'sqlite' && sqliteFile) {
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(store.db);
    const size = (file: string) => {
      try {
        return statSync(file).size;
      } catch {
        return 0;
      }
    };
    let historyBytes: number | null = null;
    let hoursBytes: number | null = null;
    try {
      const pages = async (names: string[]) =>
        Number((await sql<{ bytes: number }>`SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name IN (${sql.join(names)})`.execute(store.db)).rows[0]?.bytes ?? 0);
      hoursBytes = await pages(['vim_history_hours', 'sqlite_autoindex_vim_history_hours_1']);
      historyBytes = hoursBytes + (await pages(['vim_history', 'sqlite_autoindex_vim_history_1']));
    } catch {
      historyBytes = null; // a SQLite built without SQLITE_ENABLE_DBSTAT_VTAB
    }
    return { database_bytes: size(sqliteFile) + size(`${sqliteFile}-wal`), history_bytes: historyBytes, hours_table_bytes: hoursBytes, ...common };
  }
  const sizes = await sql<{ db: string; history: string; hours: string }>`SELECT pg_database_size(current_database()) AS db, pg_total_relation_size('vim_history') AS history, pg_total_relation_size('vim_history_hours') AS hours`.execute(store.db);
  const row = sizes.rows[0]!;
  return { database_bytes: Number(row.db), history_bytes: Number(row.history) + Number(row.hours), hours_table_bytes: Number(row.hours), ...common };
}

function timing(samples: number[]): Timing {
  return {
    repetitions: samples.length,
    p50_ms: round(percentile(samples, 0.5)!, 2),
    p95_ms: round(percentile(samples, 0.95)!, 2),
    max_ms: round(Math.max(...samples), 2),
  };
}

const mb = (bytes: number | null) => (bytes === null ? null : round(bytes / 1_000_000, 1));




/** The history phase's part of the printed report. */
export function historyTable(result: HistoryResult): string {
  const lines: string[] = [];
  lines.push(
    `history storage: ${result.vims.toLocaleString('en-US')} VIMs × ${result.days} days (${Math.round(MIX.steady * 100)} % steady, ${Math.round(MIX.flapping * 100)} % flapping 3–10×/day, ${Math.round(MIX.longOutages * 100)} % down 2–8 h on 10 % of days, ${Math.round(MIX.maintenance * 100)} % weekly maintenance; icmp+api stats per hour); prune: hours beyond ${result.hourly_days} days, days beyond ${result.delete_after_days}, batches of ${result.prune_batch}`,
  );
  const cols = result.results;
  const row = (label: string, cell: (r: HistoryDialectResult) => string) => `  ${label.padEnd(44)}${cols.map((r) => cell(r).padStart(22)).join('')}`;
  lines.push(row('', (r) => r.dialect));
  lines.push(row('whole run of the dialect, s', (r) => fmt(r.seconds, 0)));
  lines.push(row('load average 1 min, start → end', (r) => `${fmt(r.load_average.start)} → ${fmt(r.load_average.end)}`));
  lines.push(row('load: rows, s (save only)', (r) => `${r.load.rows.toLocaleString('en-US')}, ${fmt(r.load.save_seconds)} s`));
  lines.push(row('load: rows/s through HistoryRepository.save', (r) => fmt(r.load.rows_per_s, 0)));
  lines.push(row('load: CPU µs per row in save (this process)', (r) => fmt(r.load.save_cpu_us_per_row, 0)));
  lines.push(row('database after load, MB', (r) => fmt(mb(r.size_after_load.database_bytes))));
  lines.push(row('vim_history (+ _hours) after load, MB', (r) => `${fmt(mb(r.size_after_load.history_bytes))} (${fmt(mb(r.size_after_load.hours_table_bytes))})`));
  lines.push(row('bytes per day row / per row of hours', (r) => `${fmt(r.day_row_bytes, 0)} / ${fmt(r.hours_row_bytes, 0)}`));
  lines.push(row('bytes per VIM-day (database)', (r) => fmt(r.bytes_per_vim_day, 0)));
  lines.push(row('hours blob / probes text, avg bytes', (r) => `${fmt(r.size_after_load.avg_hours_blob_bytes, 0)} / ${fmt(r.size_after_load.avg_probes_bytes, 0)}`));
  lines.push(row('one flush of every current day, ms p50; CPU', (r) => `${fmt(r.flush.p50_ms, 0)}; ${fmt(r.flush.cpu_ms, 0)}`));
  for (const name of Object.keys(cols[0]?.queries ?? {})) lines.push(row(`${name}, ms p50 / p95`, (r) => `${fmt(r.queries[name]?.p50_ms, 2)} / ${fmt(r.queries[name]?.p95_ms, 2)}`));
  lines.push(row('dropHours: rows, s', (r) => `${r.prune.drop_hours.rows.toLocaleString('en-US')}, ${fmt(r.prune.drop_hours.seconds)} s`));
  lines.push(row('dropHours: rows/s; batch p95 ms', (r) => `${fmt(r.prune.drop_hours.rows_per_s, 0)}; ${fmt(r.prune.drop_hours.batch_p95_ms)}`));
  lines.push(row('dropHours: walk with nothing to do, ms', (r) => fmt(r.prune.drop_hours.idle_call_ms)));
  lines.push(row('deleteBefore: rows, s', (r) => `${r.prune.delete_days.rows.toLocaleString('en-US')}, ${fmt(r.prune.delete_days.seconds)} s`));
  lines.push(row('deleteBefore: rows/s; batch p95 ms', (r) => `${fmt(r.prune.delete_days.rows_per_s, 0)}; ${fmt(r.prune.delete_days.batch_p95_ms)}`));
  lines.push(row('deleteBefore: walk with nothing to do, ms', (r) => fmt(r.prune.delete_days.idle_call_ms)));
  lines.push(row('database after prune, MB (no VACUUM)', (r) => fmt(mb(r.size_after_prune.database_bytes))));
  lines.push(row('projected 10k VIMs, 730 d + 90 d hourly, MB', (r) => fmt(mb(r.projection_10k_default_retention_bytes), 0)));
  lines.push(`  peak RSS of the bench process: ${result.peak_rss_mb} MB; uptime: ${result.uptime_sum}`);
  for (const e of result.errors) lines.push(`  ${e.dialect}: FAILED TO RUN: ${e.error}`);
  return lines.join('\n');
}
