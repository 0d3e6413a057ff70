/**
 * One vim-monitor process (SQLite) watching N simulated VIMs: registration,
 * steady state, a share of VIMs going down and coming back, the CPU an ICMP
 * check costs, and the references it is compared with.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newestProfile, summarizeProfile, type ProfileSummary } from './cpu-profile.js';
import type { DownShareNet } from './netns.js';
import { loopbackAddresses } from './netns.js';
import { CpuSampler, cpuTimes, memory, totalCpu } from './proc.js';
import { fpingBatches, legacyPing, type ReferenceResult } from './references.js';
import { nowMs, percentileOfPopulation, pool, round, sleep, waitFor } from './util.js';
import { logMessages, startVimMonitor, type ManagerStats, type VimMonitorProcess } from './vim-monitor.js';

/** The monitor settings of every run (the targets are stated for these). */
export const MONITOR_SETTINGS = { interval: 10, timeout: 3, failure_threshold: 3, success_threshold: 2, batch_window: 0.25 } as const;

/**
 * health.deep_interval of every run but the deep-check phase (deep-run.ts):
 * the schema's maximum. Deep checks cannot be switched off, and the simulated
 * VIMs answer them, so these runs measure the fast probes as before deep
 * checks existed; first runs are spread over a day, so N × window ÷ 86,400
 * of them still happen.
 */
export const NO_DEEP_INTERVAL = 86_400;

export interface MonitoringRunOptions {
  /** dist/cli/main.js */
  cli: string;
  workDir: string;
  vims: number;
  /** Seconds of the measurement window (stretched if the down/up cycle needs longer). */
  durationSeconds: number;
  /** Share of the VIMs that go down and come back mid-window. */
  downShare: number;
  /** Seconds of the probes=icmp phase that gives vim-monitor's CPU per ICMP check. */
  icmpDurationSeconds: number;
  /** Checks of the legacy (ping per check) reference. */
  legacySample: number;
  /** Concurrent API POSTs while registering. */
  concurrency: number;
  cpuProf: boolean;
  /** Extra node flags for the vim-monitor processes. */
  nodeArgs: string[];
  /** Also run the down/up cycle with probes=icmp (always done when the icmp+api cycle missed VIMs). */
  icmpCycle: boolean;
  net: DownShareNet;
  /** Port of the Keystone version document on every target (host loopback and the namespace). */
  targetPort: number;
  log: (line: string) => void;
}

export interface LatencyFigures {
  vims: number;
  /** How many reached the state before the deadline. */
  observed: number;
  p50_s: number | null;
  p99_s: number | null;
  max_s: number | null;
}

export interface DownUpResult {
  taken_down: number;
  detection: LatencyFigures;
  recovery: LatencyFigures;
  detection_bound_s: number;
  /** VIMs outside the down share seen UNREACHABLE meanwhile (false alarms). */
  false_unreachable: number;
  /** VIMs not REACHABLE when the cycle ended. */
  not_reachable_at_end: number;
}

export interface MonitoringRunResult {
  vims: number;
  targets: { loopback: number; namespace: number; namespace_range: string; api_port: number };
  registration: { seconds: number; per_second: number; concurrency: number; process_peak_rss_mb: number; process_cpu_percent: number };
  restart: { startup_seconds: number; settle_seconds: number };
  window: {
    seconds: number;
    cpu_percent: number;
    cpu_percent_busiest_10s: number | null;
    peak_rss_mb: number;
    rss_mb_at_end: number;
    rounds: {
      scheduled: number;
      executed: number;
      expected_at_interval: number;
      effective_interval_s: number;
      late_over_1s: number;
      within_1s_share: number;
      lateness_ms_since_start: ManagerStats['rounds']['lateness_ms'];
    };
    replacements: number;
    pending_writes_at_end: number;
  };
  down_up: DownUpResult;
  icmp_only: {
    seconds: number;
    checks: number;
    cpu_seconds: number;
    cpu_percent: number;
    cpu_us_per_check: number;
    peak_rss_mb: number;
    /** The same down/up cycle with probes=icmp only (run when icmp+api missed some, or with --icmp-cycle). */
    down_up?: DownUpResult;
    replacements: number;
  };
  references: { legacy: ReferenceResult; fping: ReferenceResult };
  ratios: { legacy_over_vim_monitor: number; vim_monitor_over_fping: number };
  log_warnings: Record<string, number>;
  cpu_profiles?: { monitor?: ProfileSummary; icmp_only?: ProfileSummary };
  phase_seconds: Record<string, number>;
}

interface VimPlan {
  name: string;
  address: string;
  down: boolean;
}

function plan(vims: number, downShare: number, net: DownShareNet): VimPlan[] {
  const downCount = downShare > 0 ? Math.max(1, Math.round(vims * downShare)) : 0;
  const nsAddresses = net.addresses(downCount);
  const loAddresses = loopbackAddresses(vims - downCount);
  const plans: VimPlan[] = [];
  let ns = 0;
  let lo = 0;
  for (let i = 0; i < vims; i++) {
    // Spread the down share evenly over the registration order.
    const down = ns < downCount && Math.floor(((i + 1) * downCount) / vims) > ns;
    const address = down ? nsAddresses[ns++]! : loAddresses[lo++]!;
    plans.push({ name: `bench-${vims}-${String(i).padStart(6, '0')}`, address, down });
  }
  return plans;
}

export async function runMonitoring(options: MonitoringRunOptions): Promise<MonitoringRunResult> {
  const { vims, log } = options;
  const s = MONITOR_SETTINGS;
  mkdirSync(options.workDir, { recursive: true });
  const phases: Record<string, number> = {};
  const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const startedAt = nowMs();
    log(`  ${name}…`);
    try {
      return await work();
    } finally {
      phases[name] = round((nowMs() - startedAt) / 1000, 1);
    }
  };
  const plans = plan(vims, options.downShare, options.net);
  const downPlans = plans.filter((p) => p.down);
  /** Ids of the VIMs that go down (known once registered). */
  const downIds = new Set<string>();
  const settings = (probes: string) => ({
    DATABASE_URL: `sqlite:${join(options.workDir, 'vim-monitor.db')}`,
    SECRETS_KEY_FILE: join(options.workDir, 'secret.key'),
    MONITOR_PROBES: probes,
    MONITOR_INTERVAL: s.interval,
    MONITOR_TIMEOUT: s.timeout,
    MONITOR_FAILURE_THRESHOLD: s.failure_threshold,
    MONITOR_SUCCESS_THRESHOLD: s.success_threshold,
    MONITOR_BATCH_WINDOW: s.batch_window,
    HEALTH_DEEP_INTERVAL: NO_DEEP_INTERVAL,
  });
  const profileDir = (name: string) => join(options.workDir, `cpu-prof-${name}`);
  const nodeArgs = (name: string) => [...options.nodeArgs, ...(options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir(name)}`] : [])];
  const started: VimMonitorProcess[] = [];
  const start = async (name: string, probes: string) => {
    const p = await startVimMonitor({ cli: options.cli, name, workDir: options.workDir, settings: settings(probes), nodeArgs: nodeArgs(name) });
    started.push(p);
    return p;
  };
  const notReachable = (p: VimMonitorProcess) => p.api.idsWithStatus('PENDING', 'UNREACHABLE');
  /** All VIMs REACHABLE; on time-out, says why a few are not. */
  const allReachable = async (p: VimMonitorProcess, what: string, timeoutMs: number) => {
    try {
      await waitFor(what, async () => ((await notReachable(p)).length === 0 ? true : undefined), { timeoutMs, everyMs: 1000 });
    } catch (error) {
      const stuck = (await notReachable(p).catch(() => [])).slice(0, 3);
      const details = await Promise.all(stuck.map((id) => p.api.monitorOf(id).catch((e: unknown) => String(e))));
      throw new Error(`${(error as Error).message}; e.g. ${JSON.stringify(details).slice(0, 1500)}`);
    }
  };

  try {
    // 1. Registration through the API, with monitoring on (as in production).
    const registration = await phase('registration', async () => {
      const p = await start('register', 'icmp,api');
      const cpuBefore = totalCpu(cpuTimes(p.pid));
      const startedAt = nowMs();
      const ids = await pool(plans, options.concurrency, (vim) => p.api.createVim({ name: vim.name, authUrl: `http://${vim.address}:${options.targetPort}/v3` }));
      const seconds = (nowMs() - startedAt) / 1000;
      plans.forEach((vim, i) => {
        if (vim.down) downIds.add(ids[i]!);
      });
      const cpuPercent = ((totalCpu(cpuTimes(p.pid)) - cpuBefore) / seconds) * 100;
      log(`    ${vims} VIMs registered in ${seconds.toFixed(1)} s; waiting for every first verdict`);
      await allReachable(p, `all ${vims} VIMs REACHABLE after registration`, (s.interval + s.timeout) * 1000 + 60_000);
      const peak = memory(p.pid).peakRssMb;
      await p.stop();
      return { seconds: round(seconds, 1), per_second: round(vims / seconds, 0), concurrency: options.concurrency, process_peak_rss_mb: round(peak, 1), process_cpu_percent: round(cpuPercent, 1) };
    });

    // 2. A fresh process on the same database: steady state, then the down share goes down and comes back.
    const main = await phase('restart and settle', async () => {
      const p = await start('monitor', 'icmp,api');
      const settleStarted = nowMs();
      await waitFor('every monitor to run a round after the restart', async () => ((await p.api.manager()).rounds.executed >= vims ? true : undefined), {
        timeoutMs: s.interval * 2000 + 60_000,
        everyMs: 500,
      });
      await allReachable(p, `all ${vims} VIMs REACHABLE after the restart`, 60_000);
      return { p, settleSeconds: (nowMs() - settleStarted) / 1000 };
    });
    const { p } = main;
    const windowResult = await phase('measurement window', async () => {
      const m0 = await p.api.manager();
      const sampler = new CpuSampler(p.pid, 1000).start();
      const t0 = nowMs();
      await sleep(Math.min(10, options.durationSeconds / 10) * 1000);
      const downUp = await downUpCycle(p, options.net, downIds, log);
      const remaining = t0 + options.durationSeconds * 1000 - nowMs();
      if (remaining > 0) await sleep(remaining);
      const end = sampler.stop();
      const m1 = await p.api.manager();
      const seconds = ((end?.at ?? nowMs()) - t0) / 1000;
      const first = sampler.samples[0]!;
      const mem = memory(p.pid);
      const executed = m1.rounds.executed - m0.rounds.executed;
      const late = m1.rounds.late_over_1s - m0.rounds.late_over_1s;
      return {
        window: {
          seconds: round(seconds, 1),
          cpu_percent: round((((end?.cpu ?? first.cpu) - first.cpu) / seconds) * 100, 2),
          cpu_percent_busiest_10s: nullableRound(sampler.busiest(10_000), 2),
          peak_rss_mb: round(mem.peakRssMb, 1),
          rss_mb_at_end: round(mem.rssMb, 1),
          rounds: {
            scheduled: m1.rounds.scheduled - m0.rounds.scheduled,
            executed,
            expected_at_interval: Math.round((vims * seconds) / s.interval),
            effective_interval_s: executed === 0 ? 0 : round((vims * seconds) / executed, 2),
            late_over_1s: late,
            within_1s_share: executed === 0 ? 0 : round(1 - late / executed, 6),
            lateness_ms_since_start: m1.rounds.lateness_ms,
          },
          replacements: m1.replacements,
          pending_writes_at_end: m1.pending_writes,
        },
        down_up: downUp,
      };
    });
    await p.stop();
    const monitorLog = readFileSync(p.child.logFile, 'utf8');
    const monitorProfile = options.cpuProf ? summarize(profileDir('monitor')) : undefined;

    // 3. probes=icmp only: what one ICMP check costs the whole process, fping included.
    const icmpOnly = await phase('icmp-only phase', async () => {
      const q = await start('icmp-only', 'icmp');
      await waitFor('every monitor to run an ICMP round', async () => ((await q.api.manager()).rounds.executed >= vims ? true : undefined), {
        timeoutMs: s.interval * 2000 + 60_000,
        everyMs: 500,
      });
      const m0 = await q.api.manager();
      const c0 = totalCpu(cpuTimes(q.pid));
      const t0 = nowMs();
      await sleep(options.icmpDurationSeconds * 1000);
      const c1 = totalCpu(cpuTimes(q.pid));
      const seconds = (nowMs() - t0) / 1000;
      const m1 = await q.api.manager();
      // When icmp+api missed VIMs going down (or when asked): the same cycle with ICMP alone, to tell
      // the thresholds' own detection time apart from a probe that does not answer in time.
      const missed = windowResult.down_up.detection.observed < windowResult.down_up.taken_down;
      const downUp = options.icmpCycle || missed ? await downUpCycle(q, options.net, downIds, log) : undefined;
      const m2 = await q.api.manager();
      const peakRss = memory(q.pid).peakRssMb;
      await q.stop();
      const checks = m1.rounds.executed - m0.rounds.executed;
      const cpuSeconds = c1 - c0;
      return {
        seconds: round(seconds, 1),
        checks,
        cpu_seconds: round(cpuSeconds, 2),
        cpu_percent: round((cpuSeconds / seconds) * 100, 2),
        cpu_us_per_check: round((cpuSeconds / checks) * 1e6, 1),
        peak_rss_mb: round(peakRss, 1),
        ...(downUp && { down_up: downUp }),
        replacements: m2.replacements,
      };
    });
    const icmpProfile = options.cpuProf ? summarize(profileDir('icmp-only')) : undefined;

    // 4. References on the same targets, while no vim-monitor runs.
    const references = await phase('references', async () => {
      const addresses = plans.map((v) => v.address);
      const legacy = await legacyPing(addresses.slice(0, Math.min(options.legacySample, vims)));
      const batchSize = Math.max(1, Math.ceil((vims * s.batch_window) / s.interval));
      const passes = Math.max(1, Math.ceil(5000 / vims));
      const fping = await fpingBatches(addresses, batchSize, passes);
      return { legacy, fping };
    });

    return {
      vims,
      targets: { loopback: vims - downPlans.length, namespace: downPlans.length, namespace_range: options.net.range, api_port: options.targetPort },
      registration,
      restart: { startup_seconds: round(p.startupSeconds, 2), settle_seconds: round(main.settleSeconds, 1) },
      ...windowResult,
      icmp_only: icmpOnly,
      references,
      ratios: {
        legacy_over_vim_monitor: round(references.legacy.cpuUsPerCheck / icmpOnly.cpu_us_per_check, 1),
        vim_monitor_over_fping: round(icmpOnly.cpu_us_per_check / references.fping.cpuUsPerCheck, 2),
      },
      log_warnings: logMessages(monitorLog),
      ...(options.cpuProf && { cpu_profiles: { ...(monitorProfile && { monitor: monitorProfile }), ...(icmpProfile && { icmp_only: icmpProfile }) } }),
      phase_seconds: phases,
    };
  } finally {
    for (const p of started) await p.stop();
  }
}

/**
 * Takes the namespace's hosts down, polls `GET /v1.0/vims?status=UNREACHABLE`
 * every 200 ms until each of `downIds` shows UNREACHABLE (or the detection
 * bound + 20 s passes), brings them back and polls until each has left
 * UNREACHABLE (= REACHABLE: a monitored VIM never returns to PENDING; checked
 * once more at the end). Latencies count from just before the `ip` command.
 */
async function downUpCycle(p: VimMonitorProcess, net: DownShareNet, downIds: ReadonlySet<string>, log: (line: string) => void): Promise<DownUpResult> {
  const s = MONITOR_SETTINGS;
  const boundS = s.interval * s.failure_threshold + s.timeout + 1;
  const detection = new Map<string, number>();
  const recovery = new Map<string, number>();
  const falseAlarms = new Set<string>();
  if (downIds.size > 0) {
    const downAt = nowMs();
    net.down();
    log(`    ${downIds.size} VIMs taken down; polling for UNREACHABLE every 200 ms`);
    const detectDeadline = downAt + (boundS + 20) * 1000;
    while (detection.size < downIds.size && nowMs() < detectDeadline) {
      const tick = nowMs();
      for (const id of await p.api.idsWithStatus('UNREACHABLE')) {
        if (!downIds.has(id)) falseAlarms.add(id);
        else if (!detection.has(id)) detection.set(id, (nowMs() - downAt) / 1000);
      }
      await sleep(Math.max(0, 200 - (nowMs() - tick)));
    }
    const upAt = nowMs();
    net.up();
    log(`    ${detection.size}/${downIds.size} seen UNREACHABLE; brought back up, polling until they leave UNREACHABLE`);
    const recoverDeadline = upAt + (s.interval * (s.success_threshold + 1) + s.timeout + 20) * 1000;
    while (recovery.size < detection.size && nowMs() < recoverDeadline) {
      const tick = nowMs();
      const unreachable = new Set(await p.api.idsWithStatus('UNREACHABLE'));
      for (const id of unreachable) if (!downIds.has(id)) falseAlarms.add(id);
      for (const id of detection.keys()) if (!unreachable.has(id) && !recovery.has(id)) recovery.set(id, (nowMs() - upAt) / 1000);
      await sleep(Math.max(0, 200 - (nowMs() - tick)));
    }
    log(`    ${recovery.size}/${detection.size} REACHABLE again`);
  }
  const figures = (samples: number[], of: number): LatencyFigures => ({
    vims: of,
    observed: samples.length,
    // A VIM never observed counts as infinitely late: a percentile that falls on it is null (FAIL).
    p50_s: nullIfMissing(samples, of, 0.5),
    p99_s: nullIfMissing(samples, of, 0.99),
    max_s: samples.length === of && of > 0 ? round(Math.max(...samples), 2) : null,
  });
  return {
    taken_down: downIds.size,
    detection: figures([...detection.values()], downIds.size),
    recovery: figures([...recovery.values()], downIds.size),
    detection_bound_s: boundS,
    false_unreachable: falseAlarms.size,
    not_reachable_at_end: (await p.api.idsWithStatus('PENDING', 'UNREACHABLE')).length,
  };
}

function nullIfMissing(samples: number[], of: number, q: number): number | null {
  const value = percentileOfPopulation(samples, of, q);
  return value === null ? null : round(value, 2);
}

function nullableRound(value: number | undefined, digits: number): number | null {
  return value === undefined ? null : round(value, digits);
}

function summarize(dir: string): ProfileSummary | undefined {
  try {
    const file = newestProfile(dir);
    return file ? summarizeProfile(file) : undefined;
  } catch {
    return undefined;
  }
}
