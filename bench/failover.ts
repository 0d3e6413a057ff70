/**
 * Failover: W `vim-monitor worker` processes share a fresh PostgreSQL
 * database with one API-only `vim-monitor serve` (manager.enabled: false).
 * Once the monitors are spread over the workers and every VIM is REACHABLE,
 * one worker is killed with SIGKILL, and the benchmark times how long until
 * each of its VIMs is
 *
 * - taken over: its row in `GET /v1.0/monitors` names a surviving owner;
 * - freshly checked: its target received a check after the kill. The
 *   killed worker can send nothing any more, so that check is a survivor's
 *   round, and its verdict follows within milliseconds. (API-less workers
 *   show their rounds nowhere else: the API process lists other processes'
 *   monitors from their rows, with owner and monitor id but no
 *   last_round_at. When a row does carry last_round_at, it is used too.)
 *
 * Lease settings are set explicitly (the documented defaults), so the bound
 * is known: lease_ttl + sweep_interval for the takeover, plus one check.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import type { Child } from './children.js';
import { MONITOR_SETTINGS, NO_DEEP_INTERVAL } from './monitoring-run.js';
import { loopbackAddresses } from './netns.js';
import { cpuTimes, memory, totalCpu } from './proc.js';
import { nowMs, percentileOfPopulation, pool, round, sleep, waitFor } from './util.js';
import { startVimMonitor, startWorker, type VimMonitorProcess } from './vim-monitor.js';

export const LEASE_SETTINGS = { lease_ttl: 8, sweep_interval: 3, heartbeat_interval: 2 } as const;

export interface FailoverOptions {
  /** dist/cli/main.js */
  cli: string;
  workDir: string;
  vims: number;
  workers: number;
  /** A PostgreSQL URL allowed to create and drop databases (the benchmark's own database is made beside it). */
  adminUrl: string;
  /** Port of the Keystone version document on every loopback target. */
  targetPort: number;
  /** Loopback addresses (of `loopbackAddresses`) that received a check at or after an epoch-ms time. */
  checkedSince(epochMs: number): Promise<Set<string>>;
  concurrency: number;
  log: (line: string) => void;
}

export interface FailoverResult {
  vims: number;
  workers: number;
  settings: typeof LEASE_SETTINGS & { interval: number };
  registration_seconds: number;
  /** From the workers' start until each owned its share and every VIM was REACHABLE. */
  balanced_seconds: number;
  share_before: Record<string, number>;
  worker_cpu_percent_before: Record<string, number>;
  worker_peak_rss_mb: Record<string, number>;
  killed: { worker: string; vims: number };
  takeover: { all_s: number | null; p50_s: number | null; p99_s: number | null; observed: number };
  fresh_verdict: { all_s: number | null; p50_s: number | null; p99_s: number | null; observed: number; evidence: string };
  bound_s: number;
  share_after: Record<string, number>;
  /** VIMs other than the killed worker's that went UNREACHABLE meanwhile. */
  false_unreachable: number;
}

/** Why the failover run cannot run here, or undefined when it can. */
export async function failoverUnavailable(cli: string, adminUrl: string): Promise<string | undefined> {
  try {
    execFileSync(process.execPath, [cli, 'worker', '--help'], { stdio: 'ignore', timeout: 20_000 });
  } catch {
    return 'this build has no `vim-monitor worker` command';
  }
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL is not reachable at ${adminUrl.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function admin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, the API's timestamps) → epoch ms. */
function epochMs(timestamp: unknown): number | undefined {
  if (typeof timestamp !== 'string') return undefined;
  const ms = Date.parse(`${timestamp.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

function figures(samples: number[], of: number): { all_s: number | null; p50_s: number | null; p99_s: number | null; observed: number } {
  const complete = samples.length === of && of > 0;
  const at = (q: number) => {
    const value = percentileOfPopulation(samples, of, q);
    return value === null ? null : round(value, 2);
  };
  return { all_s: complete ? round(Math.max(...samples), 2) : null, p50_s: at(0.5), p99_s: at(0.99), observed: samples.length };
}

export async function runFailover(options: FailoverOptions): Promise<FailoverResult> {
  const { vims, workers, log } = options;
  const s = MONITOR_SETTINGS;
  mkdirSync(options.workDir, { recursive: true });
  const database = `vimbench_${process.pid}_${randomBytes(3).toString('hex')}`;
  await admin(options.adminUrl, (c) => c.query(`CREATE DATABASE ${database}`));
  const url = new URL(options.adminUrl);
  url.pathname = `/${database}`;
  const settings = {
    DATABASE_URL: url.toString(),
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
  try {
    log(`  failover: ${workers} workers, ${vims} VIMs, PostgreSQL database ${database}`);
    api = await startVimMonitor({ cli: options.cli, name: 'failover-api', workDir: options.workDir, settings: { ...settings, MANAGER_ENABLED: 'false' } });
    const names = Array.from({ length: workers }, (_, i) => `bench-worker-${i + 1}`);
    const workersStartedAt = nowMs();
    for (const name of names) {
      running.push(startWorker({ cli: options.cli, name, workDir: options.workDir, settings: { ...settings, MANAGER_WORKER_NAME: name } }));
    }
    const addresses = loopbackAddresses(vims);
    const registrationStarted = nowMs();
    const ids = await pool(addresses, options.concurrency, (address, i) =>
      api!.api.createVim({ name: `failover-${String(i).padStart(6, '0')}`, authUrl: `http://${address}:${options.targetPort}/v3` }),
    );
    const registrationSeconds = (nowMs() - registrationStarted) / 1000;
    const addressOf = new Map(ids.map((id, i) => [id, addresses[i]!]));

    const owners = async () => new Map((await api!.api.monitors()).map((m) => [String(m.vim_id), m]));
    const shares = (rows: Map<string, Record<string, unknown>>) => {
      const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
      for (const row of rows.values()) counts[String(row.owner)] = (counts[String(row.owner)] ?? 0) + 1;
      return counts;
    };
    const fair = Math.ceil(vims / workers);
    await waitFor(
      `each worker to own its share (${fair}) of the monitors and every VIM to be REACHABLE`,
      async () => {
        for (const child of running) if (child.hasExited()) throw new Error(`${child.name} exited:\n${child.tail()}`);
        const counts = shares(await owners());
        const balanced = names.every((n) => (counts[n] ?? 0) >= fair * 0.95) && Object.values(counts).reduce((a, b) => a + b, 0) === vims;
        if (!balanced) return undefined;
        return (await api!.api.idsWithStatus('PENDING', 'UNREACHABLE')).length === 0 ? true : undefined;
      },
      { timeoutMs: 180_000, everyMs: 1000 },
    );
    const balancedSeconds = (nowMs() - workersStartedAt) / 1000;
    // Steady state: every VIM checked within the last interval, and each worker's CPU over 10 s.
    await waitFor('every VIM checked within one interval', async () => ((await options.checkedSince(Date.now() - (s.interval + 1) * 1000)).size >= vims ? true : undefined), {
      timeoutMs: 60_000,
      everyMs: 1000,
    });
    const cpu0 = running.map((c) => totalCpu(cpuTimes(c.pid)));
    const cpuStarted = nowMs();
    await sleep(10_000);
    const cpuSeconds = (nowMs() - cpuStarted) / 1000;
    const workerCpu = Object.fromEntries(running.map((c, i) => [c.name, round(((totalCpu(cpuTimes(c.pid)) - cpu0[i]!) / cpuSeconds) * 100, 1)]));
    const workerRss = Object.fromEntries(running.map((c) => [c.name, round(memory(c.pid).peakRssMb, 0)]));

    const before = await owners();
    const shareBefore = shares(before);
    const victim = running[running.length - 1]!;
    const victimVims = [...before.values()].filter((m) => m.owner === victim.name).map((m) => String(m.vim_id));
    log(`    killing ${victim.name} (pid ${victim.pid}, ${victimVims.length} monitors) with SIGKILL`);
    const killedAt = Date.now();
    const killedAtMono = nowMs();
    victim.process.kill('SIGKILL');
    await victim.exited;

    const takenOver = new Map<string, number>();
    const fresh = new Map<string, number>();
    const falseAlarms = new Set<string>();
    const victimSet = new Set(victimVims);
    let usedLastRound = false;
    const boundS = LEASE_SETTINGS.lease_ttl + LEASE_SETTINGS.sweep_interval + 1;
    const deadline = killedAtMono + (boundS + 30) * 1000;
    while (fresh.size < victimVims.length && nowMs() < deadline) {
      const tick = nowMs();
      const elapsed = (tick - killedAtMono) / 1000;
      const rows = await owners();
      // Checks that arrive within 50 ms of the kill may have left the killed worker just before it died.
      const checked = await options.checkedSince(killedAt + 50);
      for (const id of victimVims) {
        const row = rows.get(id);
        const survivor = row !== undefined && row.owner !== victim.name;
        if (survivor && !takenOver.has(id)) takenOver.set(id, elapsed);
        const lastRound = epochMs(row?.last_round_at);
        if (lastRound !== undefined) usedLastRound = true;
        const freshRound = survivor && lastRound !== undefined && lastRound > killedAt;
        if ((freshRound || (survivor && checked.has(addressOf.get(id)!))) && !fresh.has(id)) fresh.set(id, elapsed);
      }
      for (const id of await api.api.idsWithStatus('UNREACHABLE')) if (!victimSet.has(id)) falseAlarms.add(id);
      await sleep(Math.max(0, 200 - (nowMs() - tick)));
    }
    log(`    ${takenOver.size}/${victimVims.length} taken over, ${fresh.size}/${victimVims.length} freshly checked by a survivor`);
    const shareAfter = shares(await owners());
    return {
      vims,
      workers,
      settings: { ...LEASE_SETTINGS, interval: s.interval },
      registration_seconds: round(registrationSeconds, 1),
      balanced_seconds: round(balancedSeconds, 1),
      share_before: shareBefore,
      worker_cpu_percent_before: workerCpu,
      worker_peak_rss_mb: workerRss,
      killed: { worker: victim.name, vims: victimVims.length },
      takeover: figures([...takenOver.values()], victimVims.length),
      fresh_verdict: {
        ...figures([...fresh.values()], victimVims.length),
        evidence: usedLastRound ? 'last_round_at in GET /v1.0/monitors, or a check seen by the target' : 'owner is a survivor in GET /v1.0/monitors and the target received a check after the kill',
      },
      bound_s: boundS,
      share_after: shareAfter,
      false_unreachable: falseAlarms.size,
    };
  } finally {
    await Promise.all(running.map((c) => c.stop(10_000)));
    await api?.stop();
    await admin(options.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).catch((error: unknown) => log(`    could not drop ${database}: ${String(error)}`));
  }
}
