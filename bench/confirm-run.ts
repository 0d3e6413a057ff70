/**
 * Confirmation and false alarms (issue 11): three `vim-monitor worker`
 * processes on one fresh PostgreSQL database, w1 (zone a) inside a network
 * namespace of its own (bench/confirm-net.ts), w2 (zone b) and w3 (zone c)
 * on the host, and an API-only `serve` the benchmark reads statuses from.
 * The N VIMs point at host addresses on the namespace's link, round-robin in
 * registration order (VIM i on address i mod A), so the first 30 % of the
 * addresses hold 30 % of any run of consecutive VIMs: whichever VIMs the
 * manager's fair share gives w1, about 30 % of them are cut. (In blocks, w1
 * owned none of the cut VIMs at 10,000: the share follows registration
 * order.)
 *
 * Each configuration (confirmation on / off with the isolation guard off,
 * then both on, the defaults) starts the workers afresh on the same
 * database and, once every VIM is REACHABLE and spread over the workers:
 *
 * 1. cuts the first 30 % of the addresses inside w1's namespace only
 *    (`unreachable` routes): those VIMs are down from w1 and up from w2 and
 *    w3. For `--confirm-window` seconds the API is polled every second; any
 *    VIM seen UNREACHABLE is a false alarm (nothing is really down).
 * 2. restores the cut and stops the second target server, on whose port a
 *    small share of the VIMs (on uncut addresses) points: those are down for
 *    every worker (connection refused). Polled every 250 ms until each shows
 *    UNREACHABLE: the time to real detection.
 * 3. brings that server back and waits until every VIM is REACHABLE again.
 *
 * The probe is tcp (a connect to auth_url's host:port, closed at once):
 * on 2 cores, 10,000 VIMs at a 10 s interval over three processes is
 * 1,000 connects a second, which the machine carries beside PostgreSQL and
 * the target server; the api probe would add an HTTP exchange per check
 * (and keep-alive sockets), which the single-process runs already measure.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { admin, dropStaleDatabases } from './pg-admin.js';
import { spawnChild, firstJsonLine, type Child } from './children.js';
import { startConfirmNet, TcpRelay, type ConfirmNet } from './confirm-net.js';
import { machineCpuSeconds } from './deep-run.js';
import { LEASE_SETTINGS } from './failover.js';
import { MONITOR_SETTINGS, NO_DEEP_INTERVAL } from './monitoring-run.js';
import { cpuTimes, memory, totalCpu } from './proc.js';
import { nowMs, percentileOfPopulation, pool, round, sleep, waitFor } from './util.js';
import { logMessages, startVimMonitor, startWorker, type VimMonitorProcess } from './vim-monitor.js';

export const CUT_SHARE = 0.3;

export interface ConfirmOptions {
  cli: string;
  targetServer: string;
  workDir: string;
  vims: number;
  /** Share of the VIMs really down (for every worker) in step 2. */
  downShare: number;
  /** Seconds of the cut window (step 1). */
  windowSeconds: number;
  /** Also run with the isolation guard on (the defaults). */
  withGuardRun: boolean;
  adminUrl: string;
  concurrency: number;
  log: (line: string) => void;
}

export interface ConfirmConfig {
  name: string;
  confirm: boolean;
  guard: boolean;
}

export interface ConfirmRunResult {
  config: ConfirmConfig;
  settle_seconds: number;
  owned: Record<string, number>;
  cut: {
    vims: number;
    addresses: string;
    owned_by_w1: number;
    window_s: number;
    /** VIMs seen UNREACHABLE in the window (none is really down): the false alarms. */
    false_unreachable: number;
    false_unreachable_owned_by_w1: number;
    /** Seconds from the cut to the first / last false alarm seen. */
    first_false_s: number | null;
    last_false_s: number | null;
    /** Seconds from removing the cut until no VIM was UNREACHABLE (null: not within 90 s). */
    cleared_s: number | null;
  };
  real_down: {
    vims: number;
    owned_by_w1: number;
    observed: number;
    p50_s: number | null;
    p95_s: number | null;
    max_s: number | null;
    bound_s: number;
    /** VIMs outside the real-down share that turned UNREACHABLE during this step. */
    other_new_unreachable: number;
    /** Detection max (and count) by owner. */
    by_owner: Record<string, { vims: number; max_s: number | null }>;
    /** How the UNREACHABLE events of the down share ended: the reason's parenthesis without zones and names (e.g. 'confirmed by 2 of 2 workers'). */
    decided: Record<string, number>;
  };
  recovered_s: number | null;
  measured_s: number;
  /** Oldest heartbeat seen per worker (workers table, read every second): past lease_ttl (8 s), the others count it dead. */
  heartbeat_age_max_s: Record<string, number>;
  worker_cpu_percent: Record<string, number>;
  worker_peak_rss_mb: Record<string, number>;
  target_server_cpu_percent: number;
  machine_cpu_percent: number;
  other_processes_cpu_percent: number;
  load_average: { start: number[]; end: number[] };
  pg: { xact_commit_per_s: number; tup_inserted: number; tup_updated: number; tup_deleted: number } | null;
  log_warnings: Record<string, Record<string, number>>;
}

export interface ConfirmResult {
  vims: number;
  probes: string;
  settings: typeof MONITOR_SETTINGS & typeof LEASE_SETTINGS & { confirm_deadline_s: number; confirm_recheck_s: number; confirm_count: number; confirm_quorum: number };
  net: { namespace: string; range: string; target_addresses: number; cut_addresses: number; routes: Record<string, string> };
  registration_seconds: number;
  runs: ConfirmRunResult[];
  errors: Array<{ config: string; error: string }>;
}

interface Plan {
  address: string;
  cut: boolean;
  down: boolean;
}

/** VIM i → address i mod A; the first 30 % of the addresses are cut (30 % of the VIMs when A divides N). */
function plan(vims: number, addresses: string[], downShare: number): Plan[] {
  const cutAddresses = Math.round(addresses.length * CUT_SHARE);
  const isCut = (i: number) => i % addresses.length < cutAddresses;
  const uncut = Array.from({ length: vims }, (_, i) => i).filter((i) => !isCut(i)).length;
  const downCount = Math.min(uncut, Math.max(1, Math.round(vims * downShare)));
  const plans: Plan[] = [];
  let down = 0;
  let seenUncut = 0;
  for (let i = 0; i < vims; i++) {
    const cut = isCut(i);
    // Spread the real-down share evenly over the uncut VIMs.
    const isDown = !cut && Math.floor(((++seenUncut) * downCount) / uncut) > down;
    if (isDown) down += 1;
    plans.push({ address: addresses[i % addresses.length]!, cut, down: isDown });
  }
  return plans;
}


function figures(samples: number[], of: number) {
  const at = (q: number) => {
    const v = percentileOfPopulation(samples, of, q);
    return v === null ? null : round(v, 1);
  };
  return { observed: samples.length, p50_s: at(0.5), p95_s: at(0.95), max_s: samples.length === of && of > 0 ? round(Math.max(...samples), 1) : null };
}

export async function runConfirmation(options: ConfirmOptions): Promise<ConfirmResult> {
  const { vims, log } = options;
  const s = MONITOR_SETTINGS;
  const deadline = Math.max(2 * s.timeout, 3);
  const recheck = 30;
  mkdirSync(options.workDir, { recursive: true });
  const addressCount = Math.min(100, vims);
  const net: ConfirmNet = startConfirmNet(addressCount);
  const cutAddresses = net.targets.slice(0, Math.round(net.targets.length * CUT_SHARE));
  const routes: Record<string, string> = {
    [`host: ${net.targets[0]}`]: net.route(net.targets[0]!, false),
    [`namespace: ${net.targets[0]}`]: net.route(net.targets[0]!, true),
    'host: 198.18.0.1 (blackhole)': net.route('198.18.0.1', false),
  };
  const database = `vimbench_confirm_${process.pid}_${randomBytes(3).toString('hex')}`;
  // On SIGINT/SIGTERM or --max-minutes the benchmark exits without unwinding: the namespace goes with it (the database is dropped by the next run's sweep).
  const onExit = () => net.close();
  process.once('exit', onExit);
  const relay = new TcpRelay(new URL(options.adminUrl).hostname, Number(new URL(options.adminUrl).port || 5432), net.hostAddress);
  const children: Child[] = [];
  let api: VimMonitorProcess | undefined;
  let downServer: Child | undefined;
  const errors: ConfirmResult['errors'] = [];
  const runs: ConfirmRunResult[] = [];
  const serverArgs = (port: number) => [options.targetServer, '--host', '0.0.0.0', '--port', String(port), '--only-local-prefix', net.range.replace(/0\/24$/, ''), '--keep-alive', '5'];
  const startServer = async (name: string, port: number) => {
    const child = spawnChild({ name, command: process.execPath, args: serverArgs(port), logFile: join(options.workDir, `${name}.log`) });
    children.push(child);
    const { listening } = await firstJsonLine<{ listening: number }>(child, 'listening', 10_000);
    return { child, port: listening };
  };
  try {
    await dropStaleDatabases(options.adminUrl, 'vimbench_confirm_', log);
    await admin(options.adminUrl, (c) => c.query(`CREATE DATABASE ${database}`));
    await relay.start();
    const url = new URL(options.adminUrl);
    url.pathname = `/${database}`;
    const viaRelay = new URL(url.toString());
    viaRelay.hostname = net.hostAddress;
    viaRelay.port = String(relay.port);
    const up = await startServer('confirm-targets', 0);
    const down = await startServer('confirm-targets-down', 0);
    downServer = down.child;
    routes['namespace: PostgreSQL relay'] = `${net.hostAddress}:${relay.port} → ${url.hostname}:${url.port || 5432}`;
    log(`  confirmation: ${vims} VIMs on ${addressCount} addresses of ${net.range} (ports ${up.port}, ${down.port}), namespace ${net.namespace}, database ${database}`);

    const settings = {
      DATABASE_URL: url.toString(),
      SECRETS_KEY: randomBytes(32).toString('base64'),
      MONITOR_PROBES: 'tcp',
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
    api = await startVimMonitor({ cli: options.cli, name: 'confirm-api', workDir: options.workDir, settings: { ...settings, MANAGER_ENABLED: 'false' } });
    const plans = plan(vims, net.targets, options.downShare);
    const registrationStarted = nowMs();
    const ids = await pool(plans, options.concurrency, (p, i) =>
      api!.api.createVim({ name: `confirm-${String(i).padStart(6, '0')}`, authUrl: `http://${p.address}:${p.down ? down.port : up.port}/v3` }),
    );
    const registrationSeconds = (nowMs() - registrationStarted) / 1000;
    log(`    registered in ${registrationSeconds.toFixed(1)} s`);
    const cutIds = new Set(ids.filter((_, i) => plans[i]!.cut));
    const downIds = new Set(ids.filter((_, i) => plans[i]!.down));

    const configs: ConfirmConfig[] = [
      { name: 'confirmation on, guard off', confirm: true, guard: false },
      { name: 'confirmation off, guard off', confirm: false, guard: false },
      ...(options.withGuardRun ? [{ name: 'confirmation on, guard on (defaults)', confirm: true, guard: true }] : []),
    ];
    for (const config of configs) {
      log(`    ${config.name}:`);
      try {
        runs.push(await runOne(config));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`      failed: ${message}`);
        errors.push({ config: config.name, error: message });
        net.restore(cutAddresses);
        if (downServer.hasExited()) downServer = (await startServer('confirm-targets-down', down.port)).child;
      }
    }
    return {
      vims,
      probes: 'tcp',
      settings: { ...s, ...LEASE_SETTINGS, confirm_deadline_s: deadline, confirm_recheck_s: recheck, confirm_count: 2, confirm_quorum: 1 },
      net: { namespace: net.namespace, range: net.range, target_addresses: addressCount, cut_addresses: cutAddresses.length, routes },
      registration_seconds: round(registrationSeconds, 1),
      runs,
      errors,
    };

    async function runOne(config: ConfirmConfig): Promise<ConfirmRunResult> {
      const names = ['w1', 'w2', 'w3'];
      const workerSettings = (name: string, zone: string) => ({
        ...settings,
        ...(name === 'w1' && { DATABASE_URL: viaRelay.toString() }),
        MANAGER_WORKER_NAME: name,
        MANAGER_ZONE: zone,
        CONFIRM_ENABLED: String(config.confirm),
        GUARD_ENABLED: String(config.guard),
      });
      const tag = config.confirm ? (config.guard ? 'both' : 'on') : 'off';
      const workers = names.map((name, i) =>
        startWorker({
          cli: options.cli,
          name: `${name}-${tag}`,
          workDir: options.workDir,
          settings: workerSettings(name, 'abc'[i]!),
          ...(name === 'w1' && { namespace: net.namespace }),
        }),
      );
      children.push(...workers);
      try {
        const settleStarted = nowMs();
        const fair = Math.ceil(vims / names.length);
        const owners = async () => new Map((await api!.api.monitors()).map((m) => [String(m.vim_id), String(m.owner)]));
        const shares = (rows: Map<string, string>) => {
          const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
          for (const owner of rows.values()) counts[owner] = (counts[owner] ?? 0) + 1;
          return counts;
        };
        await waitFor(
          `each worker to own its share (${fair}) and every VIM to be REACHABLE`,
          async () => {
            for (const w of workers) if (w.hasExited()) throw new Error(`${w.name} exited:\n${w.tail()}`);
            const counts = shares(await owners());
            if (!names.every((n) => (counts[n] ?? 0) >= fair * 0.95)) return undefined;
            return (await api!.api.idsWithStatus('PENDING', 'UNREACHABLE')).length === 0 ? true : undefined;
          },
          { timeoutMs: 300_000, everyMs: 2000 },
        );
        const settleSeconds = (nowMs() - settleStarted) / 1000;
        const ownerOf = await owners();
        const owned = shares(ownerOf);
        const cutOwnedByW1 = [...cutIds].filter((id) => ownerOf.get(id) === 'w1').length;
        const downOwnedByW1 = [...downIds].filter((id) => ownerOf.get(id) === 'w1').length;
        log(`      settled in ${settleSeconds.toFixed(0)} s; owned ${JSON.stringify(owned)}; w1 owns ${cutOwnedByW1} of the ${cutIds.size} cut VIMs`);

        const cpu0 = workers.map((w) => totalCpu(cpuTimes(w.pid)));
        const server0 = totalCpu(cpuTimes(up.child.pid));
        const machine0 = machineCpuSeconds();
        const load0 = loadavg();
        const pg0 = await pgStats().catch(() => undefined);
        const heartbeats = await heartbeatSampler();
        const measureStarted = nowMs();

        // 1. The cut: down from w1 only.
        const cutAt = nowMs();
        net.cut(cutAddresses);
        const falseSeen = new Map<string, number>();
        while (nowMs() - cutAt < options.windowSeconds * 1000) {
          const tick = nowMs();
          for (const id of await api!.api.idsWithStatus('UNREACHABLE')) if (!falseSeen.has(id)) falseSeen.set(id, (nowMs() - cutAt) / 1000);
          await sleep(Math.max(0, 1000 - (nowMs() - tick)));
        }
        net.restore(cutAddresses);
        const falseTimes = [...falseSeen.values()];
        const restoredAt = nowMs();
        // The false alarms clear (success_threshold rounds) before anything really goes down: step 2 measures detection, not the storm.
        let cutCleared: number | null = null;
        try {
          await waitFor('the false alarms to clear', async () => ((await api!.api.idsWithStatus('PENDING', 'UNREACHABLE')).length === 0 ? true : undefined), {
            timeoutMs: 90_000,
            everyMs: 1000,
          });
          cutCleared = (nowMs() - restoredAt) / 1000;
        } catch (error) {
          log(`      ${(error as Error).message}`);
        }
        log(`      cut window: ${falseSeen.size} false UNREACHABLE${falseSeen.size > 0 ? `, cleared ${cutCleared === null ? 'not within 90 s' : `${cutCleared.toFixed(0)} s after the cut was removed`}` : ''}`);

        // 2. Really down for everyone.
        const unreachableBefore = new Set(await api!.api.idsWithStatus('UNREACHABLE'));
        const bound = s.interval * s.failure_threshold + s.timeout + (config.confirm ? deadline + s.interval : 0);
        const downAt = nowMs();
        const downWall = Date.now();
        await downServer!.stop(5000);
        const detected = new Map<string, number>();
        const otherNew = new Set<string>();
        while (detected.size < downIds.size && nowMs() - downAt < (bound + 30) * 1000) {
          const tick = nowMs();
          for (const id of await api!.api.idsWithStatus('UNREACHABLE')) {
            if (downIds.has(id)) {
              if (!detected.has(id)) detected.set(id, (nowMs() - downAt) / 1000);
            } else if (!unreachableBefore.has(id)) otherNew.add(id);
          }
          await sleep(Math.max(0, 250 - (nowMs() - tick)));
        }
        log(`      real down: ${detected.size}/${downIds.size} detected, max ${Math.max(0, ...detected.values()).toFixed(1)} s`);

        const byOwner: Record<string, { vims: number; max_s: number | null }> = {};
        for (const n of names) {
          const mine = [...downIds].filter((id) => ownerOf.get(id) === n);
          const times = mine.map((id) => detected.get(id)).filter((t): t is number => t !== undefined);
          byOwner[n] = { vims: mine.length, max_s: times.length === mine.length && mine.length > 0 ? round(Math.max(...times), 1) : null };
        }
        const decided: Record<string, number> = {};
        await pool([...downIds], 4, async (id) => {
          const { events } = await api!.api.request<{ events: Array<{ resource_state: string; timestamp: string; event_details: { reason?: string } }> }>(
            'GET',
            `/v1.0/events?resource_id=${id}&event_type=MONITOR`,
          );
          // This run's event only (the same VIMs went down in the runs before); timestamps are UTC, to the second or finer.
          const last = events.filter((e) => e.resource_state === 'UNREACHABLE' && Date.parse(`${e.timestamp.replace(' ', 'T')}Z`) >= downWall - 1000).at(-1);
          const suffix = /\(([^()]*)\)$/.exec(last?.event_details.reason ?? '')?.[1]?.replace(/ in zones? [a-c, ]+:.*$/, '');
          const key = last === undefined ? 'no UNREACHABLE event in this run' : (suffix ?? 'decided by the owner alone (no confirmation)');
          decided[key] = (decided[key] ?? 0) + 1;
        }).catch((error: unknown) => log(`      could not read the events: ${String(error)}`));
        log(`      decided: ${JSON.stringify(decided)}; by owner: ${JSON.stringify(byOwner)}`);

        const seconds = (nowMs() - measureStarted) / 1000;
        const cpu1 = workers.map((w) => totalCpu(cpuTimes(w.pid)));
        const server1 = totalCpu(cpuTimes(up.child.pid));
        const machine1 = machineCpuSeconds();
        const load1 = loadavg();
        const pg1 = await pgStats().catch(() => undefined);
        const heartbeatAgeMax = await heartbeats.stop();
        const workerCpu = cpu1.reduce((a, c, i) => a + c - cpu0[i]!, 0);
        const peakRss = Object.fromEntries(workers.map((w, i) => [names[i]!, round(memory(w.pid).peakRssMb, 0)]));

        // 3. Back up; every VIM REACHABLE before the next configuration.
        downServer = (await startServer('confirm-targets-down', down.port)).child;
        const upAt = nowMs();
        let recovered: number | null = null;
        try {
          await waitFor('every VIM REACHABLE again', async () => ((await api!.api.idsWithStatus('PENDING', 'UNREACHABLE')).length === 0 ? true : undefined), {
            timeoutMs: 120_000,
            everyMs: 1000,
          });
          recovered = (nowMs() - upAt) / 1000;
        } catch (error) {
          log(`      ${(error as Error).message}`);
        }
        const falseByW1 = [...falseSeen.keys()].filter((id) => ownerOf.get(id) === 'w1').length;
        return {
          config,
          settle_seconds: round(settleSeconds, 1),
          owned,
          cut: {
            vims: cutIds.size,
            addresses: `${cutAddresses[0]} – ${cutAddresses.at(-1)} (${cutAddresses.length} of ${net.targets.length})`,
            owned_by_w1: cutOwnedByW1,
            window_s: options.windowSeconds,
            false_unreachable: falseSeen.size,
            false_unreachable_owned_by_w1: falseByW1,
            first_false_s: falseTimes.length > 0 ? round(Math.min(...falseTimes), 1) : null,
            last_false_s: falseTimes.length > 0 ? round(Math.max(...falseTimes), 1) : null,
            cleared_s: cutCleared === null ? null : round(cutCleared, 1),
          },
          real_down: { vims: downIds.size, owned_by_w1: downOwnedByW1, ...figures([...detected.values()], downIds.size), bound_s: bound, other_new_unreachable: otherNew.size, by_owner: byOwner, decided },
          recovered_s: recovered === null ? null : round(recovered, 1),
          measured_s: round(seconds, 1),
          heartbeat_age_max_s: heartbeatAgeMax,
          worker_cpu_percent: Object.fromEntries(names.map((n, i) => [n, round(((cpu1[i]! - cpu0[i]!) / seconds) * 100, 1)])),
          worker_peak_rss_mb: peakRss,
          target_server_cpu_percent: round(((server1 - server0) / seconds) * 100, 1),
          machine_cpu_percent: round(((machine1 - machine0) / seconds) * 100, 1),
          other_processes_cpu_percent: round(((machine1 - machine0 - workerCpu - (server1 - server0)) / seconds) * 100, 1),
          load_average: { start: load0.map((l) => round(l, 2)), end: load1.map((l) => round(l, 2)) },
          pg:
            pg0 && pg1
              ? {
                  xact_commit_per_s: round((pg1.xact_commit - pg0.xact_commit) / seconds, 0),
                  tup_inserted: pg1.tup_inserted - pg0.tup_inserted,
                  tup_updated: pg1.tup_updated - pg0.tup_updated,
                  tup_deleted: pg1.tup_deleted - pg0.tup_deleted,
                }
              : null,
          log_warnings: Object.fromEntries(workers.map((w, i) => [names[i]!, logMessages(readFileSync(w.logFile, 'utf8'))])),
        };
      } finally {
        net.restore(cutAddresses);
        await Promise.all(workers.map((w) => w.stop(20_000)));
      }
    }

    /** Reads each worker's heartbeat age every second until stopped; gives the largest per worker. */
    async function heartbeatSampler() {
      const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
      // A PostgreSQL restart mid-run must not take the benchmark down with an unhandled 'error' event: the figure just stops.
      client.on('error', () => undefined);
      await client.connect();
      const max: Record<string, number> = {};
      let running = true;
      const loop = (async () => {
        while (running) {
          const tick = nowMs();
          try {
            const { rows } = await client.query<{ id: string; age_ms: string }>(
              'SELECT id, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint - heartbeat_ms AS age_ms FROM workers WHERE id IN ($1, $2, $3)',
              ['w1', 'w2', 'w3'],
            );
            for (const r of rows) max[r.id] = Math.max(max[r.id] ?? 0, Number(r.age_ms) / 1000);
          } catch {
            // a failed read shows as a gap, not a figure
          }
          await sleep(Math.max(0, 1000 - (nowMs() - tick)));
        }
      })();
      return {
        async stop() {
          running = false;
          await loop;
          await client.end().catch(() => undefined);
          return Object.fromEntries(Object.entries(max).sort().map(([k, v]) => [k, round(v, 1)]));
        },
      };
    }

    async function pgStats() {
      return admin(options.adminUrl, async (c) => {
        const { rows } = await c.query<{ xact_commit: string; tup_inserted: string; tup_updated: string; tup_deleted: string }>(
          'SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = $1',
          [database],
        );
        const r = rows[0]!;
        return { xact_commit: Number(r.xact_commit), tup_inserted: Number(r.tup_inserted), tup_updated: Number(r.tup_updated), tup_deleted: Number(r.tup_deleted) };
      });
    }
  } finally {
    await Promise.all(children.map((c) => c.stop(10_000)));
    await api?.stop();
    relay.close();
    await admin(options.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).catch((error: unknown) => log(`    could not drop ${database}: ${String(error)}`));
    process.removeListener('exit', onExit);
    net.close();
  }
}


