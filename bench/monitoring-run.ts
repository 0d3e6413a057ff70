/**
 * One vim-monitor process (SQLite) watching N simulated VIMs: registration,
 * steady state with each probe engine asked for (--repeat windows, a fresh
 * process each), a share of VIMs going down and coming back, the CPU an ICMP
 * check costs, the floors of issue 13 measured after each repeat on the same
 * targets (floors.ts), and the older references (references.ts).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newestProfile, summarizeProfile, type ProfileSummary } from './cpu-profile.js';
import { measureFloors, type Floors } from './floors.js';
import type { DownShareNet } from './netns.js';
import { loopbackAddresses } from './netns.js';
import { engineSettings, reportedEngine, type ProbeEngine } from './probe-engine.js';
import { CpuSampler, cpuTimes, memory, totalCpu } from './proc.js';
import { fpingBatches, legacyPing, type ReferenceResult } from './references.js';
import { nowMs, percentileOfPopulation, pool, round, sleep, waitFor } from './util.js';
import { logMessages, startVimMonitor, type ManagerStats, type VimMonitorProcess } from './vim-monitor.js';

/** The monitor settings of every run (the targets are stated for these). */
export const MONITOR_SETTINGS = { interval: 10, timeout: 3, failure_threshold: 3, success_threshold: 2, batch_window: 1 } as const;

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
  /** Seconds of each steady measurement window. */
  durationSeconds: number;
  /** Steady windows per engine, each in a fresh process, each followed by a floor measurement. */
  repeat: number;
  /** Probe engines to measure, each in processes of its own; the first also registers the VIMs. */
  engines: ProbeEngine[];
  /** Share of the VIMs that go down and come back after the first window. */
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
  /** fping -i of the ICMP floor, ms. */
  floorIcmpIntervalMs: number;
  /** The HTTP floor client (floors.ts: buildHttpFloor), or why there is none. */
  httpFloorClient: { path: string } | { error: string };
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
  recovery_bound_s: number;
  /** VIMs outside the down share seen UNREACHABLE meanwhile (false alarms). */
  false_unreachable: number;
  /** VIMs not REACHABLE when the cycle ended. */
  not_reachable_at_end: number;
}

/** One steady window of one process: nothing but the round counters is asked of it meanwhile. */
/** The process from its start until its steady window opened. */
export interface WarmUp {
  seconds: number;
  /** Its CPU over those seconds, start-up included, % of one core. */
  cpu_percent: number;
}

export interface SteadyWindow {
  /** 1-based. */
  repeat: number;
  /** Before the window (WARM_UP_SECONDS after the start). */
  warm_up?: WarmUp;
  seconds: number;
  /** utime + stime + cutime + cstime over the window (fping included, once reaped). */
  cpu_seconds: number;
  cpu_percent: number;
  cpu_percent_busiest_10s: number | null;
  /** cpu_seconds ÷ rounds executed (a round is one VIM's probes at one scheduled time), µs. */
  cpu_us_per_vim_round: number | null;
  /** The floor of the same repeat (icmp + http, µs per VIM round). */
  floor_us_per_vim_round: number | null;
  ratio_to_floor: number | null;
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
}

export interface Range {
  min: number;
  max: number;
}

export interface IcmpOnlyResult {
  seconds: number;
  checks: number;
  cpu_seconds: number;
  cpu_percent: number;
  cpu_us_per_check: number;
  peak_rss_mb: number;
  /** The same down/up cycle with probes=icmp only (run when icmp+api missed some, or with --icmp-cycle). */
  down_up?: DownUpResult;
  replacements: number;
}

/** Everything measured of one probe engine at one size. */
export interface EngineRunResult {
  engine: ProbeEngine;
  /** What the service said it runs (GET /v1.0/manager), null when it does not say. */
  reported_engine: string | null;
  restart: { startup_seconds: number; settle_seconds: number };
  windows: SteadyWindow[];
  /** min–max over the windows (null where a window has no figure). */
  ranges: {
    cpu_percent: Range;
    cpu_us_per_vim_round: Range | null;
    ratio_to_floor: Range | null;
    within_1s_share: Range;
  };
  /** Highest VmHWM of this engine's icmp+api processes, read when each stopped (settle and the down/up cycle included). */
  peak_rss_mb: number;
  down_up: DownUpResult;
  /** CPU of the process during the down/up cycle, when the benchmark polls the API every 200 ms (not judged). */
  down_up_cpu_percent: number;
  icmp_only: IcmpOnlyResult;
  ratios: { legacy_over_vim_monitor: number; vim_monitor_over_fping: number };
  /** Warning and error lines of this engine's processes (icmp+api and icmp-only), by message. */
  log_warnings: Record<string, number>;
  cpu_profiles?: { monitor?: ProfileSummary; icmp_only?: ProfileSummary };
}

export interface MonitoringRunResult {
  vims: number;
  targets: { loopback: number; namespace: number; namespace_range: string; api_port: number };
  registration: {
    seconds: number;
    per_second: number;
    concurrency: number;
    engine: ProbeEngine;
    process_peak_rss_mb: number;
    process_cpu_percent: number;
    log_warnings: Record<string, number>;
  };
  engines: EngineRunResult[];
  /** The floors, one measurement after each repeat's windows (floors.ts). */
  floors: Floors[];
  floor_ranges: { icmp_us: Range; http_us: Range | null; per_vim_round_us: Range | null; cpu_percent_at_interval: Range | null };
  references: { legacy: ReferenceResult; fping: ReferenceResult };
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

/** min–max of the values; null when there are none. */
export function rangeOf(values: ReadonlyArray<number | null>): Range | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length === 0 ? null : { min: Math.min(...present), max: Math.max(...present) };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
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
  const settings = (probes: string, engine: ProbeEngine) => ({
    DATABASE_URL: `sqlite:${join(options.workDir, 'vim-monitor.db')}`,
    SECRETS_KEY_FILE: join(options.workDir, 'secret.key'),
    MONITOR_PROBES: probes,
    MONITOR_INTERVAL: s.interval,
    MONITOR_TIMEOUT: s.timeout,
    MONITOR_FAILURE_THRESHOLD: s.failure_threshold,
    MONITOR_SUCCESS_THRESHOLD: s.success_threshold,
    MONITOR_BATCH_WINDOW: s.batch_window,
    HEALTH_DEEP_INTERVAL: NO_DEEP_INTERVAL,
    ...engineSettings(engine),
  });
  const profileDir = (name: string) => join(options.workDir, `cpu-prof-${name}`);
  const nodeArgs = (name: string) => [...options.nodeArgs, ...(options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir(name)}`] : [])];
  const started: VimMonitorProcess[] = [];
  const start = async (name: string, probes: string, engine: ProbeEngine) => {
    const p = await startVimMonitor({ cli: options.cli, name, workDir: options.workDir, settings: settings(probes, engine), nodeArgs: nodeArgs(name) });
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
  /** Every monitor has run a round and every VIM is REACHABLE. */
  const settle = async (p: VimMonitorProcess, what: string) => {
    const settleStarted = nowMs();
    await waitFor(`every monitor to run a round (${what})`, async () => ((await p.api.manager()).rounds.executed >= vims ? true : undefined), {
      timeoutMs: s.interval * 2000 + 60_000,
      everyMs: 500,
    });
    await allReachable(p, `all ${vims} VIMs REACHABLE (${what})`, 60_000);
    return (nowMs() - settleStarted) / 1000;
  };
  const readLog = (p: VimMonitorProcess) => {
    try {
      return readFileSync(p.child.logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const logWarnings = (p: VimMonitorProcess) => logMessages(readLog(p));

  try {
    // 1. Registration through the API, with monitoring on (as in production).
    const registration = await phase('registration', async () => {
      const engine = options.engines[0]!;
      const p = await start('register', 'icmp,api', engine);
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
      return {
        seconds: round(seconds, 1),
        per_second: round(vims / seconds, 0),
        concurrency: options.concurrency,
        engine,
        process_peak_rss_mb: round(peak, 1),
        process_cpu_percent: round(cpuPercent, 1),
        log_warnings: logWarnings(p),
      };
    });

    // 2. Per repeat: for each engine a fresh process on the same database, settled, then a steady window
    //    (the first repeat's process then also takes the down share down and up); then the floors, while
    //    no vim-monitor runs.
    const addresses = plans.map((v) => v.address);
    const perEngine = new Map<ProbeEngine, Omit<EngineRunResult, 'icmp_only' | 'ratios' | 'ranges'>>();
    const floors: Floors[] = [];
    for (let repeat = 1; repeat <= options.repeat; repeat++) {
      const windowsOfRepeat: SteadyWindow[] = [];
      for (const engine of options.engines) {
        const name = `monitor-${engine}-${repeat}`;
        const label = `${engine}${options.repeat > 1 ? `, repeat ${repeat}/${options.repeat}` : ''}`;
        await phase(`steady window (${label})`, async () => {
          const p = await start(name, 'icmp,api', engine);
          const settleSeconds = await settle(p, `${label} after the restart`);
          const warmUp = await warmUpOf(p);
          const m = await p.api.manager();
          const window = { ...(await steadyWindow(p, vims, options.durationSeconds, repeat)), warm_up: warmUp };
          windowsOfRepeat.push(window);
          log(`    ${label}: ${window.cpu_percent} % of a core, ${window.cpu_us_per_vim_round ?? '—'} µs per VIM round, peak RSS ${window.peak_rss_mb} MB`);
          let entry = perEngine.get(engine);
          if (!entry) {
            // The first repeat's process also runs the down/up cycle, after its window.
            const c0 = totalCpu(cpuTimes(p.pid));
            const t0 = nowMs();
            const downUp = await downUpCycle(p, options.net, downIds, log);
            const cycleCpu = ((totalCpu(cpuTimes(p.pid)) - c0) / ((nowMs() - t0) / 1000)) * 100;
            entry = {
              engine,
              reported_engine: reportedEngine(m, readLog(p)) ?? null,
              restart: { startup_seconds: round(p.startupSeconds, 2), settle_seconds: round(settleSeconds, 1) },
              windows: [],
              peak_rss_mb: 0,
              down_up: downUp,
              down_up_cpu_percent: round(cycleCpu, 2),
              log_warnings: {},
            };
            perEngine.set(engine, entry);
          }
          entry.windows.push(window);
          entry.peak_rss_mb = round(Math.max(entry.peak_rss_mb, memory(p.pid).peakRssMb), 1);
          await p.stop();
          addCounts(entry.log_warnings, logWarnings(p));
          if (repeat === 1 && options.cpuProf) entry.cpu_profiles = { ...entry.cpu_profiles, ...optional('monitor', summarize(profileDir(name))) };
        });
      }
      const floor = await phase(`floors${options.repeat > 1 ? `, repeat ${repeat}/${options.repeat}` : ''}`, () =>
        measureFloors({
          addresses,
          port: options.targetPort,
          intervalSeconds: s.interval,
          httpConcurrency: Math.max(1, Math.ceil((vims * s.batch_window) / s.interval)),
          icmpIntervalMs: options.floorIcmpIntervalMs,
          timeoutMs: s.timeout * 1000,
          httpClient: options.httpFloorClient,
        }),
      );
      floors.push(floor);
      log(
        `    floor: ICMP ${floor.icmp.cpu_us_per_check} µs + HTTP ${floor.http?.cpu_us_per_check ?? `— (${floor.http_error})`} µs = ${floor.per_vim_round_us ?? '—'} µs per VIM round`,
      );
      for (const window of windowsOfRepeat) {
        window.floor_us_per_vim_round = floor.per_vim_round_us;
        window.ratio_to_floor = window.cpu_us_per_vim_round === null || !floor.per_vim_round_us ? null : round(window.cpu_us_per_vim_round / floor.per_vim_round_us, 2);
      }
    }

    // 3. probes=icmp only, per engine: what one ICMP check costs the whole process, fping included.
    const icmpOnly = new Map<ProbeEngine, IcmpOnlyResult>();
    for (const engine of options.engines) {
      const entry = perEngine.get(engine)!;
      const name = `icmp-only-${engine}`;
      icmpOnly.set(
        engine,
        await phase(`icmp-only phase (${engine})`, async () => {
          const q = await start(name, 'icmp', engine);
          await waitFor('every monitor to run an ICMP round', async () => ((await q.api.manager()).rounds.executed >= vims ? true : undefined), {
            timeoutMs: s.interval * 2000 + 60_000,
            everyMs: 500,
          });
          // Measured in steady state, as the icmp+api windows are.
          await warmUpOf(q);
          const m0 = await q.api.manager();
          const c0 = totalCpu(cpuTimes(q.pid));
          const t0 = nowMs();
          await sleep(options.icmpDurationSeconds * 1000);
          const c1 = totalCpu(cpuTimes(q.pid));
          const seconds = (nowMs() - t0) / 1000;
          const m1 = await q.api.manager();
          // When icmp+api missed VIMs going down (or when asked): the same cycle with ICMP alone, to tell
          // the thresholds' own detection time apart from a probe that does not answer in time.
          const missed = entry.down_up.detection.observed < entry.down_up.taken_down;
          const downUp = options.icmpCycle || missed ? await downUpCycle(q, options.net, downIds, log) : undefined;
          const m2 = await q.api.manager();
          const peakRss = memory(q.pid).peakRssMb;
          await q.stop();
          addCounts(entry.log_warnings, logWarnings(q));
          if (options.cpuProf) entry.cpu_profiles = { ...entry.cpu_profiles, ...optional('icmp_only', summarize(profileDir(name))) };
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
        }),
      );
    }

    // 4. The older references on the same targets, while no vim-monitor runs.
    const references = await phase('references', async () => {
      const legacy = await legacyPing(addresses.slice(0, Math.min(options.legacySample, vims)));
      const batchSize = Math.max(1, Math.ceil((vims * s.batch_window) / s.interval));
      const passes = Math.max(1, Math.ceil(5000 / vims));
      const fping = await fpingBatches(addresses, batchSize, passes);
      return { legacy, fping };
    });

    const engines: EngineRunResult[] = options.engines.map((engine) => {
      const entry = perEngine.get(engine)!;
      const icmp = icmpOnly.get(engine)!;
      return {
        ...entry,
        ranges: {
          cpu_percent: rangeOf(entry.windows.map((w) => w.cpu_percent))!,
          cpu_us_per_vim_round: rangeOf(entry.windows.map((w) => w.cpu_us_per_vim_round)),
          ratio_to_floor: rangeOf(entry.windows.map((w) => w.ratio_to_floor)),
          within_1s_share: rangeOf(entry.windows.map((w) => w.rounds.within_1s_share))!,
        },
        icmp_only: icmp,
        ratios: {
          legacy_over_vim_monitor: round(references.legacy.cpuUsPerCheck / icmp.cpu_us_per_check, 1),
          vim_monitor_over_fping: round(icmp.cpu_us_per_check / references.fping.cpuUsPerCheck, 2),
        },
      };
    });
    return {
      vims,
      targets: { loopback: vims - downPlans.length, namespace: downPlans.length, namespace_range: options.net.range, api_port: options.targetPort },
      registration,
      engines,
      floors,
      floor_ranges: {
        icmp_us: rangeOf(floors.map((f) => f.icmp.cpu_us_per_check))!,
        http_us: rangeOf(floors.map((f) => f.http?.cpu_us_per_check ?? null)),
        per_vim_round_us: rangeOf(floors.map((f) => f.per_vim_round_us)),
        cpu_percent_at_interval: rangeOf(floors.map((f) => f.cpu_percent_at_interval)),
      },
      references,
      phase_seconds: phases,
    };
  } finally {
    for (const p of started) await p.stop();
  }
}

/**
 * Seconds from a process's start before its steady window opens. Its first
 * history flush (`history.flush_interval`, 60 s by default) reads every VIM's
 * stored day once, and the code of every path runs optimised only after its
 * first calls: both are paid once per start, and a window opened 10 s after
 * the start counted them as steady cost (at 1,000 VIMs a third of the CPU
 * per VIM round, issue 13). What the process spent until the window is
 * reported as `warm_up`.
 */
export const WARM_UP_SECONDS = 75;

/** Waits until WARM_UP_SECONDS after the start; the CPU of the whole start-up (loading included) until then. */
async function warmUpOf(p: VimMonitorProcess): Promise<WarmUp> {
  await sleep(Math.max(0, p.startedAtMs + WARM_UP_SECONDS * 1000 - nowMs()));
  const seconds = (nowMs() - p.startedAtMs) / 1000;
  return { seconds: round(seconds, 1), cpu_percent: round((totalCpu(cpuTimes(p.pid)) / seconds) * 100, 2) };
}

/**
 * A steady window: CPU and RSS sampled from /proc every second, the round
 * counters of GET /v1.0/manager read at both ends and nothing else asked of
 * the process meanwhile, so its CPU is monitoring's alone.
 */
async function steadyWindow(p: VimMonitorProcess, vims: number, durationSeconds: number, repeat: number): Promise<SteadyWindow> {
  const s = MONITOR_SETTINGS;
  const m0 = await p.api.manager();
  const sampler = new CpuSampler(p.pid, 1000).start();
  const first = sampler.samples[0]!;
  await sleep(durationSeconds * 1000);
  const end = sampler.stop() ?? first;
  const m1 = await p.api.manager();
  const seconds = (end.at - first.at) / 1000;
  const cpuSeconds = end.cpu - first.cpu;
  const mem = memory(p.pid);
  const executed = m1.rounds.executed - m0.rounds.executed;
  const late = m1.rounds.late_over_1s - m0.rounds.late_over_1s;
  return {
    repeat,
    seconds: round(seconds, 1),
    cpu_seconds: round(cpuSeconds, 2),
    cpu_percent: round((cpuSeconds / seconds) * 100, 2),
    cpu_percent_busiest_10s: nullableRound(sampler.busiest(10_000), 2),
    cpu_us_per_vim_round: executed === 0 ? null : round((cpuSeconds / executed) * 1e6, 1),
    floor_us_per_vim_round: null,
    ratio_to_floor: null,
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
  };
}

function optional<K extends string>(key: K, value: ProfileSummary | undefined): Partial<Record<K, ProfileSummary>> {
  return value ? ({ [key]: value } as Record<K, ProfileSummary>) : {};
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
  // By the same reasoning: success_threshold rounds an interval apart, the first up to an interval after the return.
  const recoveryBoundS = s.interval * s.success_threshold + s.timeout + 1;
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
    recovery_bound_s: recoveryBoundS,
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
