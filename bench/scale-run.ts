/**
 * Scale (issue 13): N VIMs over W `vim-monitor worker` processes on one
 * PostgreSQL database, with one API-only `vim-monitor serve` beside them, as
 * in the failover run. N = 100,000 cannot be probed from this machine, so
 * the workers run with scripted probes (probes.simulate_file,
 * src/probes/scripted.ts): every probe answers from a script, a share of
 * the VIMs goes down and comes back at scripted times, and everything
 * after the probe is the real service: monitors, status changes, events,
 * history, leases, heartbeats, confirmation by other workers, all on
 * PostgreSQL. No packet is sent; every auth_url is a loopback address
 * anyway, so even a worker that ignored the script would stay on loopback.
 *
 * Per N: start the workers, register the VIMs once all of them are live
 * (scale-register.ts: through the API, its rate measured, or by copy),
 * wait until each worker owns its share and no VIM is PENDING, then
 * measure the database's load over a window (scale-pg.ts) and the workers'
 * CPU and memory.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Child } from './children.js';
import { LEASE_SETTINGS } from './failover.js';
import { MONITOR_SETTINGS, NO_DEEP_INTERVAL } from './monitoring-run.js';
import { loopbackAddresses } from './netns.js';
import { admin, dropStaleDatabases } from './pg-admin.js';
import { CpuSampler } from './proc.js';
import { pgLoad, pgSnapshot, statementsAvailability, type PgLoad, type PgSnapshot } from './scale-pg.js';
import { registerByCopy, registerThroughApi, type RegisterMode } from './scale-register.js';
import { nowMs, round, sleep, waitFor } from './util.js';
import { logMessages, startVimMonitor, startWorker, type VimMonitorProcess } from './vim-monitor.js';

export const SCALE_DB_PREFIX = 'vimscale_';
/** How long after registration a size waits for every worker to own its share before measuring anyway (unbalanced, said so). */
const BALANCE_WAIT_MS = 240_000;

export interface ScaleOptions {
  cli: string;
  workDir: string;
  sizes: number[];
  workers: number;
  windowSeconds: number;
  /** Share of the VIMs in the scripted outage pattern. */
  downShare: number;
  /** Seconds of one scripted down-and-up cycle, and of it down. */
  periodSeconds: number;
  downSeconds: number;
  /** Concurrent API POSTs while registering. */
  concurrency: number;
  /** database.pool_size of every process: W + 1 processes share the server's max_connections with everyone else. */
  poolSize: number;
  /** Sizes up to this are registered through the API, larger ones by copying (scale-register.ts). */
  apiRegisterMax: number;
  /** Seconds between VACUUM ANALYZE passes of the database (autovacuum is off on the shared server); 0: none. */
  vacuumSeconds: number;
  adminUrl: string;
  log: (line: string) => void;
}

export interface ScaleRunResult {
  vims: number;
  workers: number;
  registration: { mode: RegisterMode; seconds: number; vims_per_second: number; concurrency: number };
  /** VACUUM ANALYZE passes that ran within the window, and their mean duration. */
  vacuum: { every_s: number; passes_in_window: number; mean_ms: number | null };
  /** From the end of registration until each worker owned its share and no VIM was PENDING. */
  settle_seconds: number;
  /** Monitors per worker when the window began, and whether every worker had at least 95 % of its fair share. */
  share: Record<string, number>;
  balanced: boolean;
  share_after_window: Record<string, number>;
  window_seconds: number;
  /** Scripted: share × N × 2 ÷ period status changes a second expected in steady state. */
  expected_changes_per_second: number;
  unreachable_at_end: number;
  expected_unreachable: number;
  db: PgLoad;
  /** Per 1,000 VIMs: the figures that should stay flat if the work per VIM does not grow with N. */
  per_1000_vims: { transactions_per_s: number; rows_written_per_s: number; rows_read_per_s: number; blks_hit_per_s: number; active_ms_per_s: number; backend_cpu_percent: number };
  workers_cpu_percent: { total: number; per_worker: Record<string, number> };
  workers_rss_mb: { total: number; max: number; peak_max: number };
  api_cpu_percent: number;
  /** Warnings and errors the processes logged, by message (the loud scripted-probes warning expected once per worker). */
  log_messages: Record<string, number>;
}

export interface ScaleResult {
  settings: typeof MONITOR_SETTINGS & typeof LEASE_SETTINGS & { probes: string; deep_interval: number; pool_size: number; script: Record<string, unknown> };
  runs: ScaleRunResult[];
  errors: Array<{ vims: number; error: string }>;
  pg_stat_statements: string;
  /** Ratio of the per-VIM figures at the largest N to those at the smallest: 1 is flat. */
  growth: Record<string, number> | undefined;
}

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const { log } = options;
  mkdirSync(options.workDir, { recursive: true });
  await dropStaleDatabases(options.adminUrl, SCALE_DB_PREFIX, log);
  const runs: ScaleRunResult[] = [];
  const errors: ScaleResult['errors'] = [];
  let statementsNote = 'not checked';
  const script = (startMs: number) => ({
    seed: 'vim-monitor-scale',
    latency_ms: [1, 5],
    outages: [{ share: options.downShare, start: startMs, period: options.periodSeconds, down: options.downSeconds }],
  });
  for (const vims of options.sizes) {
    log(`  scale: N=${vims} over ${options.workers} workers`);
    try {
      const run = await runOne(options, vims, script);
      statementsNote = typeof run.db.statements === 'object' && 'skipped' in run.db.statements ? run.db.statements.skipped : 'used (in the benchmark database only)';
      runs.push(run);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`  scale N=${vims} failed: ${message}`);
      errors.push({ vims, error: message });
    }
  }
  const first = runs[0];
  const last = runs[runs.length - 1];
  const growth =
    first && last && last.vims > first.vims
      ? Object.fromEntries(
          Object.entries(last.per_1000_vims).map(([key, value]) => [key, round(value / (first.per_1000_vims[key as keyof ScaleRunResult['per_1000_vims']] || NaN), 2)]),
        )
      : undefined;
  return {
    settings: {
      ...MONITOR_SETTINGS,
      ...LEASE_SETTINGS,
      probes: 'icmp,api (scripted)',
      deep_interval: NO_DEEP_INTERVAL,
      pool_size: options.poolSize,
      script: { ...script(0), outages: [{ share: options.downShare, period: options.periodSeconds, down: options.downSeconds, start: 'when the workers start' }] },
    },
    runs,
    errors,
    pg_stat_statements: statementsNote,
    growth,
  };
}

async function runOne(options: ScaleOptions, vims: number, script: (startMs: number) => unknown): Promise<ScaleRunResult> {
  const { log, workers } = options;
  const workDir = join(options.workDir, `n${vims}`);
  mkdirSync(workDir, { recursive: true });
  const database = `${SCALE_DB_PREFIX}${process.pid}_${randomBytes(3).toString('hex')}`;
  await admin(options.adminUrl, (c) => c.query(`CREATE DATABASE ${database}`));
  const url = new URL(options.adminUrl);
  url.pathname = `/${database}`;
  const s = MONITOR_SETTINGS;
  const settings = {
    DATABASE_URL: url.toString(),
    DATABASE_POOL_SIZE: options.poolSize,
    SECRETS_KEY: randomBytes(32).toString('base64'),
    MONITOR_PROBES: 'icmp,api',
    MONITOR_INTERVAL: s.interval,
    MONITOR_TIMEOUT: s.timeout,
    MONITOR_FAILURE_THRESHOLD: s.failure_threshold,
    MONITOR_SUCCESS_THRESHOLD: s.success_threshold,
    MONITOR_BATCH_WINDOW: s.batch_window,
    HEALTH_DEEP_INTERVAL: NO_DEEP_INTERVAL,
    MANAGER_LEASE_TTL: LEASE_SETTINGS.lease_ttl,
    MANAGER_SWEEP_INTERVAL: LEASE_SETTINGS.sweep_interval,
    MANAGER_HEARTBEAT_INTERVAL: LEASE_SETTINGS.heartbeat_interval,
  };
  let api: VimMonitorProcess | undefined;
  const running: Child[] = [];
  let stats: pg.Client | undefined;
  let vacuum: Vacuum | undefined;
  try {
    api = await startVimMonitor({ cli: options.cli, name: `scale-api-n${vims}`, workDir, settings: { ...settings, MANAGER_ENABLED: 'false' } });
    const scriptFile = join(workDir, 'probe-script.json');
    const scriptStart = Date.now();
    writeFileSync(scriptFile, JSON.stringify(script(scriptStart), null, 2));
    const names = Array.from({ length: workers }, (_, i) => `scale-worker-${i + 1}`);
    for (const name of names) {
      running.push(startWorker({ cli: options.cli, name, workDir, settings: { ...settings, PROBES_SIMULATE_FILE: scriptFile, MANAGER_WORKER_NAME: name } }));
    }
    // Refuse to measure anything unless every worker said its probes are scripted.
    await waitFor(
      'every worker to log that its probes are scripted',
      () => {
        for (const child of running) if (child.hasExited()) throw new Error(`${child.name} exited:\n${child.tail()}`);
        return running.every((c) => readLog(c.logFile).includes('PROBES ARE SIMULATED')) ? true : undefined;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    const probe = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
    probe.on('error', () => undefined);
    await probe.connect();
    try {
      await waitFor(
        `all ${workers} workers to heartbeat`,
        async () => {
          for (const child of running) if (child.hasExited()) throw new Error(`${child.name} exited:\n${child.tail()}`);
          const { rows } = await probe.query<{ n: string }>('SELECT count(*) AS n FROM workers WHERE heartbeat_ms > $1', [Date.now() - LEASE_SETTINGS.lease_ttl * 1000]);
          return Number(rows[0]?.n) >= workers ? true : undefined;
        },
        { timeoutMs: 120_000, everyMs: 500 },
      );
    } finally {
      await probe.end().catch(() => undefined);
    }
    // Registered once every worker is live: registered before, all of them would go to the first worker to start,
    // whose fair share is everything while it sees no other worker (a cold start of every worker at once does the same).
    const addresses = loopbackAddresses(vims);
    const mode: RegisterMode = vims <= options.apiRegisterMax ? 'api' : 'copy';
    const registrationStarted = nowMs();
    let done = 0;
    const progress = setInterval(() => log(`    registered ${done}/${vims}`), 30_000);
    try {
      const onProgress = (n: number) => void (done = n);
      if (mode === 'api') await registerThroughApi(api.api, addresses, options.concurrency, onProgress);
      else await registerByCopy(api.api, url.toString(), addresses, onProgress);
    } finally {
      clearInterval(progress);
    }
    const registrationSeconds = (nowMs() - registrationStarted) / 1000;
    log(
      `    ${vims} VIMs registered in ${round(registrationSeconds, 1)} s (${round(vims / registrationSeconds, 0)}/s, ` +
        `${mode === 'api' ? `${options.concurrency} concurrent POSTs` : 'one through the API, the others copied from its row'})`,
    );
    vacuum = options.vacuumSeconds > 0 ? new Vacuum(url.toString(), options.vacuumSeconds * 1000, log) : undefined;

    const registeredAt = nowMs();
    const fair = Math.ceil(vims / workers);
    let share: Record<string, number> = {};
    let pending = vims;
    await waitFor(
      `each worker to own its share (${fair}) of the ${vims} monitors and no VIM to be PENDING`,
      async () => {
        for (const child of running) if (child.hasExited()) throw new Error(`${child.name} exited:\n${child.tail()}`);
        const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
        for (const row of await api!.api.monitors()) counts[String(row.owner)] = (counts[String(row.owner)] ?? 0) + 1;
        share = counts;
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        if (total !== vims) return undefined;
        // Balance is waited for up to a point only: an overloaded machine may never give every worker its share,
        // and the database's load for N VIMs is still the figure; the share is reported with it.
        if (!names.every((n) => (counts[n] ?? 0) >= fair * 0.95) && nowMs() - registeredAt < BALANCE_WAIT_MS) return undefined;
        pending = (await api!.api.idsWithStatus('PENDING')).length;
        return pending === 0 ? true : undefined;
      },
      { timeoutMs: 180_000 + vims * 10, everyMs: 5000 },
    ).catch((error: unknown) => {
      // What a run that never settles looked like last: how the monitors were spread, how many VIMs never got a verdict.
      throw new Error(`${error instanceof Error ? error.message : String(error)}; last seen: monitors per worker ${JSON.stringify(share)}, ${pending} PENDING`);
    });
    const settleSeconds = (nowMs() - registeredAt) / 1000;
    const balanced = names.every((n) => (share[n] ?? 0) >= fair * 0.95);
    log(`    settled in ${round(settleSeconds, 1)} s${balanced ? '' : ', NOT BALANCED'}: ${Object.values(share).join(', ')} monitors per worker`);
    // The scripted outages begin at each VIM's own phase within the first period: measure once they run steadily.
    const steadyAt = scriptStart + options.periodSeconds * 1000;
    if (Date.now() < steadyAt) {
      log(`    waiting ${round((steadyAt - Date.now()) / 1000, 0)} s for the scripted outages to reach their steady rate`);
      await sleep(steadyAt - Date.now());
    }

    stats = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
    stats.on('error', () => undefined);
    await stats.connect();
    const availability = await statementsAvailability(stats);
    const withStatements = availability.available;
    const samplers = running.map((c) => new CpuSampler(c.pid, 5000).start());
    const apiSampler = new CpuSampler(api.pid, 5000).start();
    log(`    measuring for ${options.windowSeconds} s`);
    const from: PgSnapshot = await pgSnapshot(stats, database, withStatements);
    await sleep(options.windowSeconds * 1000);
    const to = await pgSnapshot(stats, database, withStatements);
    const vacuums = vacuum?.passes.filter((p) => p.at >= from.at && p.at <= to.at) ?? [];
    const workerEnds = samplers.map((sampler) => sampler.stop());
    apiSampler.stop();
    const db = pgLoad(from, to, availability.available ? undefined : availability.reason);
    const cpuPercent = (sampler: CpuSampler) => {
      const first = sampler.samples[0];
      const last = sampler.samples[sampler.samples.length - 1];
      return first && last && last.at > first.at ? ((last.cpu - first.cpu) / ((last.at - first.at) / 1000)) * 100 : NaN;
    };
    const perWorker = Object.fromEntries(running.map((c, i) => [c.name, round(cpuPercent(samplers[i]!), 1)]));
    const rss = workerEnds.map((e) => e?.rssMb ?? NaN);
    const peaks = samplers.map((sampler) => Math.max(...sampler.samples.map((x) => x.rssMb)));
    const unreachable = (await api.api.idsWithStatus('UNREACHABLE')).length;
    const shareAfter: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    for (const row of await api.api.monitors()) shareAfter[String(row.owner)] = (shareAfter[String(row.owner)] ?? 0) + 1;
    const logs: Record<string, number> = {};
    for (const child of [...running, api.child]) {
      for (const [message, count] of Object.entries(logMessages(readLog(child.logFile)))) logs[message] = (logs[message] ?? 0) + count;
    }
    const k = vims / 1000;
    const ps = db.per_second;
    // A VIM is seen down from failure_threshold × interval into its outage until success_threshold × interval after it.
    const visibleDown = Math.max(0, options.downSeconds - s.failure_threshold * s.interval + s.success_threshold * s.interval);
    const result: ScaleRunResult = {
      vims,
      workers,
      vacuum: {
        every_s: options.vacuumSeconds,
        passes_in_window: vacuums.length,
        mean_ms: vacuums.length > 0 ? round(vacuums.reduce((a, p) => a + p.ms, 0) / vacuums.length, 0) : null,
      },
      registration: { mode, seconds: round(registrationSeconds, 1), vims_per_second: round(vims / registrationSeconds, 0), concurrency: options.concurrency },
      settle_seconds: round(settleSeconds, 1),
      share,
      balanced,
      share_after_window: shareAfter,
      window_seconds: round(db.seconds, 1),
      expected_changes_per_second: round((options.downShare * vims * 2) / options.periodSeconds, 2),
      unreachable_at_end: unreachable,
      expected_unreachable: Math.round(options.downShare * vims * (visibleDown / options.periodSeconds)),
      db: roundLoad(db),
      per_1000_vims: {
        transactions_per_s: round(ps.xact_commit / k, 2),
        rows_written_per_s: round(ps.rows_written / k, 2),
        rows_read_per_s: round((ps.tup_fetched + ps.tup_returned) / k, 1),
        blks_hit_per_s: round(ps.blks_hit / k, 1),
        active_ms_per_s: round(ps.active_time_ms / k, 2),
        backend_cpu_percent: round(db.backend_cpu_percent / k, 3),
      },
      workers_cpu_percent: { total: round(Object.values(perWorker).reduce((a, b) => a + b, 0), 1), per_worker: perWorker },
      workers_rss_mb: { total: round(rss.reduce((a, b) => a + b, 0), 0), max: round(Math.max(...rss), 0), peak_max: round(Math.max(...peaks), 0) },
      api_cpu_percent: round(cpuPercent(apiSampler), 1),
      log_messages: logs,
    };
    log(
      `    ${round(ps.xact_commit, 0)} transactions/s, ${round(ps.rows_written, 0)} rows written/s, DB backends ${round(db.backend_cpu_percent, 1)} % CPU; ` +
        `workers ${result.workers_cpu_percent.total} % CPU, ${result.workers_rss_mb.total} MB RSS; ${unreachable} UNREACHABLE (expected about ${result.expected_unreachable})`,
    );
    return result;
  } finally {
    await vacuum?.stop();
    await stats?.end().catch(() => undefined);
    await Promise.all(running.map((c) => c.stop(15_000)));
    await api?.stop();
    await admin(options.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).catch((error: unknown) => log(`    could not drop ${database}: ${String(error)}`));
  }
}

/**
 * Autovacuum is off on the shared server (and may not be switched on for one
 * database without reconfiguring it), so the benchmark vacuums its own
 * database on autovacuum's schedule: without it the updates (before
 * migration 0011 mostly lease renewals, an update of every monitor row per
 * heartbeat) bloat the tables and their indexes without bound, and every later figure grows with the run's
 * age rather than with N. Its connection is not the statistics reader's, so
 * its CPU counts among the database's backends, as autovacuum's would not.
 */
class Vacuum {
  readonly passes: Array<{ at: number; ms: number }> = [];
  private readonly client: pg.Client;
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(databaseUrl: string, everyMs: number, log: (line: string) => void) {
    this.client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
    this.client.on('error', () => undefined);
    const connected = this.client.connect();
    connected.catch(() => undefined);
    this.timer = setInterval(() => {
      if (this.running || this.stopped) return;
      this.running = connected
        .then(async () => {
          const started = nowMs();
          await this.client.query('VACUUM (ANALYZE)');
          this.passes.push({ at: nowMs(), ms: nowMs() - started });
        })
        .catch((error: unknown) => log(`    VACUUM failed: ${String(error)}`))
        .finally(() => (this.running = undefined));
    }, everyMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.client.end().catch(() => undefined);
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function roundLoad(load: PgLoad): PgLoad {
  const r = (o: object, digits: number) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? round(v, digits) : v]));
  return {
    ...load,
    seconds: round(load.seconds, 1),
    per_second: r(load.per_second, 1) as PgLoad['per_second'],
    active_percent: round(load.active_percent, 1),
    backend_cpu_percent: round(load.backend_cpu_percent, 1),
    server_cpu_percent: round(load.server_cpu_percent, 1),
    tables: load.tables.map((t) => r(t, 2) as PgLoad['tables'][number]),
    statements: Array.isArray(load.statements) ? load.statements.map((st) => r(st, 2) as (typeof load.statements & unknown[])[number]) : load.statements,
    size_mb: round(load.size_mb, 1),
    size_growth_kb_per_s: round(load.size_growth_kb_per_s, 1),
  };
}
