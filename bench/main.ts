/**
 * `npm run bench`: how much one vim-monitor process costs per VIM, how
 * punctual its checks are, how fast it notices VIMs going down and coming
 * back, and what an ICMP check costs compared with Tacker's ping-per-check
 * design and with fping alone, what deep checks (issue 10) add at the
 * same sizes, and whether confirmation by other workers (issue 11) keeps
 * VIMs down from one worker only out of UNREACHABLE (confirm-run.ts), and
 * how big and how fast status history is at 10,000 VIMs (issue 12,
 * history-run.ts), and how the dashboard fares in Chromium at 10,000 VIMs
 * (dashboard-run.ts). See docs/benchmark.md.
 *
 * Progress goes to stderr; stdout gets the table, then the JSON document
 * (also written to bench/results/latest.json, which git ignores).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { firstJsonLine, killAllChildren, spawnChild, type Child } from './children.js';
import { runDeepChecks, type DeepRunResult, type TargetCounts } from './deep-run.js';
import { MONITOR_SETTINGS, NO_DEEP_INTERVAL, runMonitoring, WARM_UP_SECONDS, type MonitoringRunResult } from './monitoring-run.js';
import { loopbackAddresses, startDownShareNet, type DownShareNet } from './netns.js';
import { failoverUnavailable, runFailover, type FailoverResult } from './failover.js';
import { runConfirmation, type ConfirmResult } from './confirm-run.js';
import { confirmTable, judgeConfirm } from './confirm-report.js';
import { historyPostgresUnavailable, historyTable, runHistory, type HistoryDialect, type HistoryResult } from './history-run.js';
import { runDashboard, type DashboardResult } from './dashboard-run.js';
import { dashboardTable } from './dashboard-report.js';
import { buildHttpFloor } from './floors.js';
import { runIdle, type IdleRunResult } from './idle-run.js';
import { ENGINE_SETTING, ENGINES, parseEngines, type ProbeEngine } from './probe-engine.js';
import { columnsOf, deepTable, failoverTable, idleLine, judge, judgeFailover, judgeIdle, table } from './report.js';
import { nowMs, round } from './util.js';
import { parseScaleArgs, SCALE_ARGS, SCALE_USAGE, type ScaleArgs } from './scale-options.js';
import { runScale, type ScaleResult } from './scale-run.js';
import { scaleTable } from './scale-report.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'dist/cli/main.js');
const TARGET_SERVER = join(dirname(fileURLToPath(import.meta.url)), 'target-server.js');
const DASHBOARD_INDEX = join(REPO, 'dist/dashboard/index.html');

/** history.hourly_days and history.prune_batch at their defaults (issue 12 contract). */
const HISTORY_HOURLY_DAYS = 90;
const HISTORY_PRUNE_BATCH = 1000;

const PHASES = ['monitoring', 'deep', 'failover', 'confirm', 'history', 'dashboard', 'scale'] as const;
type Phase = (typeof PHASES)[number];
/**
 * The history and dashboard phases are left out of the default run. History:
 * at 10,000 VIMs × 100 days it takes about 15 minutes on 2 cores (the
 * synthetic days are made and encoded in this process, a million of them per
 * dialect), and it needs nothing the other phases set up. Dashboard: 10
 * minutes of live updates on top of the rest, and a browser.
 */
const DEFAULT_PHASES: readonly Phase[] = ['monitoring', 'deep', 'failover', 'confirm'];

const USAGE = `usage: npm run bench -- [options]

  --phase LIST          phases to run, comma-separated, of ${PHASES.join(', ')}
                        (default: ${DEFAULT_PHASES.join(',')}; history and dashboard only
                        when named, as in --phase history,dashboard; the --sizes none /
                        --skip-* options still apply)
  --sizes LIST          VIM counts to run, comma-separated (default 1000,10000; none:
                        only the failover run)
  --duration S          steady measurement window per size, seconds (default 120; the
                        down/up cycle runs after the first window, outside it)
  --repeat K            steady windows per size and engine, each in a fresh process and
                        each followed by a floor measurement; figures print as min–max
                        ranges and are judged on the worst (default 1)
  --engine LIST         probe engines to measure, comma-separated, of ${ENGINES.join(', ')}
                        (default native; native,node measures both, the same VIMs and
                        floors; passed to the service as VIM_MONITOR_${ENGINE_SETTING})
  --idle-duration S     window of the idle service (no VIM), seconds, once per run
                        (default 60; 0: none)
  --floor-icmp-interval MS
                        fping -i of the ICMP floor (default 1, vim-monitor's; 0 is allowed
                        as root and gives a lower floor)
  --down-share F        share of the VIMs that go down and come back (default 0.05)
  --icmp-duration S     window of the probes=icmp phase for CPU per check
                        (default: a third of --duration, 10 to 40)
  --icmp-cycle          also take the down share down and up in the probes=icmp phase
                        (done anyway when the icmp+api cycle missed some)
  --legacy-sample N     checks of the ping-per-check reference (default 500)
  --concurrency N       concurrent API POSTs while registering (default 8)
  --output FILE         JSON document (default bench/results/latest.json)
  --cpu-prof            profile the vim-monitor processes (node --cpu-prof) and print
                        where their CPU goes (figures are then inflated by profiling)
  --failover-vims N     VIMs of the failover run (default 3000, or 3 × the largest size
                        when that is smaller)
  --failover-workers N  vim-monitor worker processes of the failover run (default 3)
  --pg-url URL          PostgreSQL where the failover run may create its own database
                        (default postgres://postgres@127.0.0.1:5432/postgres)
  --skip-failover       do not run the failover scenario
  --confirm-vims N      VIMs of the confirmation phase (issue 11, default 10000): 3 workers
                        on PostgreSQL, one in a network namespace of its own; 30 % of the
                        VIMs cut from that worker only, then a share really down; run with
                        confirmation on and off (isolation guard off), then both on
  --confirm-window S    seconds the cut lasts (default 60: past the detection bound
                        with confirmation, 49 s)
  --confirm-down-share F
                        share of the VIMs really down for every worker (default 0.01)
  --confirm-no-guard-run
                        skip the third run (confirmation and isolation guard both on)
  --skip-confirm        do not run the confirmation phase
  --deep-sizes LIST     VIM counts of the deep-check phase (default 1000,10000; none:
                        no deep-check phase)
  --deep-duration S     window with deep checks, seconds (default 180; at least two
                        deep intervals)
  --deep-baseline-duration S
                        window of the same process without deep checks (default 90)
  --deep-interval S     health.deep_interval of the deep-check phase (default 60)
  --providers N         resource providers each simulated Placement lists (default 4)
  --target-keep-alive S seconds the simulated VIMs keep an idle connection open (default
                        5, Apache's default: each api check then opens a new one)
  --node-arg ARG        extra node flag for the vim-monitor processes, repeatable
                        (e.g. --node-arg=--trace-gc, --node-arg=--max-old-space-size=256)
  --history-vims N      VIMs of the history phase (default 10000; none: no history phase)
  --history-days N      days of history written per VIM (default 100: 90 kept hourly,
                        10 more whose hours the prune pass drops, 5 of them then deleted)
  --history-dialects L  sqlite,postgres (default both; postgres in a database of its own
                        on --pg-url, created and dropped)
  --history-repetitions N
                        repetitions of each timed query (default 50)
  --dashboard-vims N    VIMs of the dashboard phase (default 10000)
  --dashboard-minutes M minutes of live updates with the overview open (default 10)
  --dashboard-changes N status changes a minute the outages are paced for (default 500)
  --dashboard-cold-runs N
                        cold first renders of the overview, a new context each (default 5)
${SCALE_USAGE}
  --keep                keep the work directory (databases, logs, profiles)
  --max-minutes M       stop everything after this long (default 48, plus the time of the
                        extra windows --repeat and --engine ask for)

Needs root (network namespace), fping, iputils ping, iproute2, and a built dist/
(the history phase alone needs none of these, only PostgreSQL for its postgres part;
the dashboard phase alone needs none of these but Chromium at /usr/bin/chromium
and the built dashboard, dist/dashboard).`;

interface Options {
  sizes: number[];
  durationSeconds: number;
  repeat: number;
  engines: ProbeEngine[];
  idleSeconds: number;
  floorIcmpIntervalMs: number;
  downShare: number;
  icmpDurationSeconds: number;
  icmpCycle: boolean;
  legacySample: number;
  concurrency: number;
  output: string;
  cpuProf: boolean;
  keep: boolean;
  targetKeepAliveSeconds: number;
  nodeArgs: string[];
  failover: { vims: number; workers: number; adminUrl: string } | undefined;
  confirm: { vims: number; windowSeconds: number; downShare: number; guardRun: boolean } | undefined;
  pgUrl: string;
  deep: { sizes: number[]; durationSeconds: number; baselineSeconds: number; intervalSeconds: number };
  providers: number;
  history: { vims: number; days: number; dialects: HistoryDialect[]; repetitions: number } | undefined;
  dashboard: { vims: number; minutes: number; changesPerMinute: number; coldRuns: number } | undefined;
  maxMinutes: number;
  /** The scale phase (issue 13, scale-run.ts), only when named in --phase. */
  scale: ScaleArgs | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '1000,10000' },
      duration: { type: 'string', default: '120' },
      repeat: { type: 'string', default: '1' },
      engine: { type: 'string', default: 'native' },
      'idle-duration': { type: 'string', default: '60' },
      'floor-icmp-interval': { type: 'string', default: '1' },
      'down-share': { type: 'string', default: '0.05' },
      'icmp-duration': { type: 'string' },
      'icmp-cycle': { type: 'boolean', default: false },
      'legacy-sample': { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '8' },
      output: { type: 'string', default: 'bench/results/latest.json' },
      'cpu-prof': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'target-keep-alive': { type: 'string', default: '5' },
      'node-arg': { type: 'string', multiple: true, default: [] },
      'failover-vims': { type: 'string' },
      'failover-workers': { type: 'string', default: '3' },
      'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      'skip-failover': { type: 'boolean', default: false },
      'confirm-vims': { type: 'string', default: '10000' },
      'confirm-window': { type: 'string', default: '60' },
      'confirm-down-share': { type: 'string', default: '0.01' },
      'confirm-no-guard-run': { type: 'boolean', default: false },
      'skip-confirm': { type: 'boolean', default: false },
      'deep-sizes': { type: 'string', default: '1000,10000' },
      'deep-duration': { type: 'string', default: '180' },
      'deep-baseline-duration': { type: 'string', default: '90' },
      'deep-interval': { type: 'string', default: '60' },
      providers: { type: 'string', default: '4' },
      phase: { type: 'string', default: DEFAULT_PHASES.join(',') },
      'history-vims': { type: 'string', default: '10000' },
      'history-days': { type: 'string', default: '100' },
      'history-dialects': { type: 'string', default: 'sqlite,postgres' },
      'history-repetitions': { type: 'string', default: '50' },
      'dashboard-vims': { type: 'string', default: '10000' },
      'dashboard-minutes': { type: 'string', default: '10' },
      'dashboard-changes': { type: 'string', default: '500' },
      'dashboard-cold-runs': { type: 'string', default: '5' },
      'max-minutes': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      ...SCALE_ARGS,
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const number = (name: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, not '${raw}'`);
    return n;
  };
  const phases = new Set(
    values.phase.split(',').map((p) => {
      const phase = p.trim();
      if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`--phase takes ${PHASES.join(', ')}, not '${phase}'`);
      return phase as Phase;
    }),
  );
  const historyDialects = values['history-dialects'].split(',').map((d) => {
    const dialect = d.trim();
    if (dialect !== 'sqlite' && dialect !== 'postgres') throw new Error(`--history-dialects takes sqlite, postgres, not '${dialect}'`);
    return dialect as HistoryDialect;
  });
  const sizes = !phases.has('monitoring') || values.sizes === 'none' ? [] : values.sizes.split(',').map((s) => Math.round(number('sizes', s.trim(), 1, 50_000)));
  const deepSizes = !phases.has('deep') || values['deep-sizes'] === 'none' ? [] : values['deep-sizes'].split(',').map((s) => Math.round(number('deep-sizes', s.trim(), 1, 50_000)));
  const deepInterval = number('deep-interval', values['deep-interval'], 1, 3600);
  // A deep run is due once per interval per VIM: a window shorter than two intervals says little about the steady rate.
  const deepDuration = number('deep-duration', values['deep-duration'], 2 * deepInterval, 3600);
  return {
    sizes,
    durationSeconds: number('duration', values.duration, 10, 3600),
    repeat: Math.round(number('repeat', values.repeat, 1, 20)),
    engines: parseEngines(values.engine),
    // The idle figure belongs with the sizes: a run of other phases only does not take it.
    idleSeconds: sizes.length === 0 ? 0 : number('idle-duration', values['idle-duration'], 0, 3600),
    floorIcmpIntervalMs: Math.round(number('floor-icmp-interval', values['floor-icmp-interval'], 0, 1000)),
    downShare: number('down-share', values['down-share'], 0, 0.4),
    icmpDurationSeconds:
      values['icmp-duration'] === undefined
        ? Math.min(40, Math.max(10, Math.round(Number(values.duration) / 3)))
        : number('icmp-duration', values['icmp-duration'], 5, 600),
    icmpCycle: values['icmp-cycle'],
    legacySample: Math.round(number('legacy-sample', values['legacy-sample'], 10, 10_000)),
    concurrency: Math.round(number('concurrency', values.concurrency, 1, 64)),
    output: resolve(REPO, values.output),
    cpuProf: values['cpu-prof'],
    keep: values.keep,
    targetKeepAliveSeconds: number('target-keep-alive', values['target-keep-alive'], 0, 600),
    nodeArgs: values['node-arg'],
    failover: !phases.has('failover') || values['skip-failover']
      ? undefined
      : {
          vims:
            values['failover-vims'] === undefined
              ? Math.min(3000, sizes.length > 0 ? 3 * Math.max(...sizes) : 3000)
              : Math.round(number('failover-vims', values['failover-vims'], 3, 50_000)),
          workers: Math.round(number('failover-workers', values['failover-workers'], 2, 10)),
          adminUrl: values['pg-url'],
        },
    confirm: !phases.has('confirm') || values['skip-confirm']
      ? undefined
      : {
          vims: Math.round(number('confirm-vims', values['confirm-vims'], 10, 50_000)),
          windowSeconds: number('confirm-window', values['confirm-window'], 10, 3600),
          downShare: number('confirm-down-share', values['confirm-down-share'], 0.0001, 0.5),
          guardRun: !values['confirm-no-guard-run'],
        },
    pgUrl: values['pg-url'],
    deep: { sizes: deepSizes, durationSeconds: deepDuration, baselineSeconds: number('deep-baseline-duration', values['deep-baseline-duration'], 10, 3600), intervalSeconds: deepInterval },
    providers: Math.round(number('providers', values.providers, 0, 1000)),
    history:
      !phases.has('history') || values['history-vims'] === 'none'
        ? undefined
        : {
            vims: Math.round(number('history-vims', values['history-vims'], 100, 100_000)),
            // More than the 90 days kept hourly, so that the prune pass has hours to drop.
            days: Math.round(number('history-days', values['history-days'], 2, 800)),
            dialects: [...new Set(historyDialects)],
            repetitions: Math.round(number('history-repetitions', values['history-repetitions'], 1, 10_000)),
          },
    dashboard: phases.has('dashboard')
      ? {
          vims: Math.round(number('dashboard-vims', values['dashboard-vims'], 100, 50_000)),
          minutes: number('dashboard-minutes', values['dashboard-minutes'], 0.5, 120),
          changesPerMinute: Math.round(number('dashboard-changes', values['dashboard-changes'], 2, 10_000)),
          coldRuns: Math.round(number('dashboard-cold-runs', values['dashboard-cold-runs'], 1, 50)),
        }
      : undefined,
    maxMinutes:
      values['max-minutes'] === undefined
        ? // Each extra window: a start, its warm-up, the window, and a floor; and the cycle and icmp-only phase per extra engine.
          Math.ceil(48 + (sizes.length * ((Number(values.repeat) || 1) * parseEngines(values.engine).length - 1) * (Number(values.duration) + 60 + WARM_UP_SECONDS)) / 60)
        : number('max-minutes', values['max-minutes'], 1, 600),
    scale: phases.has('scale') ? parseScaleArgs(values) : undefined,
  };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function version(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    return stderr ? stderr.split('\n')[0]!.trim() : 'not found';
  }
}

function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

/** Phases that run vim-monitor processes against simulated VIMs (all but the history phase). */
function runsProcesses(options: Options): boolean {
  return options.sizes.length > 0 || options.deep.sizes.length > 0 || options.failover !== undefined || options.confirm !== undefined;
}

/** Phases that need the simulated clouds and the namespace of main (the confirmation and dashboard phases make their own). */
function needsTargets(options: Options): boolean {
  return options.sizes.length > 0 || options.deep.sizes.length > 0 || options.failover !== undefined;
}

function preflight(options: Options): void {
  if (!runsProcesses(options)) return;
  const problems: string[] = [];
  if (!existsSync(CLI)) problems.push(`${CLI} is missing: npm run build`);
  if (needsTargets(options) || options.confirm) {
    if (process.getuid?.() !== 0) problems.push('run as root (a network namespace and a veth pair are made for the VIMs that go down)');
    if (version('fping', ['-v']) === 'not found') problems.push('fping is missing: apt-get install -y fping');
    if (version('ping', ['-V']) === 'not found') problems.push('iputils ping is missing: apt-get install -y iputils-ping');
  }
  if (options.dashboard) {
    if (!existsSync(DASHBOARD_INDEX)) problems.push(`${DASHBOARD_INDEX} is missing: npm run build`);
    if (!existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium')) problems.push('Chromium is missing: apt-get install -y --no-install-recommends chromium');
  }
  const largest = Math.max(...options.sizes, ...options.deep.sizes, options.failover?.vims ?? 0, options.confirm?.vims ?? 0, options.dashboard?.vims ?? 0);
  const limit = openFilesLimit();
  // vim-monitor and the target server each hold about one socket per VIM.
  if (limit < largest + 2048) problems.push(`the open-files limit (${limit}) is too low for ${largest} VIMs: ulimit -n ${largest + 4096}`);
  if (problems.length > 0) throw new Error(`cannot run the benchmark:\n  - ${problems.join('\n  - ')}`);
}

interface TargetServers {
  port: number;
  /** Loopback addresses checked at or after an epoch-ms time. */
  checkedSince(epochMs: number): Promise<Set<string>>;
  /** Requests the host server answered so far, by kind, and its CPU. */
  counts(): Promise<TargetCounts>;
  host: Child;
  namespace: Child;
  stop(): Promise<Record<string, unknown>>;
}

/** One simulated-cloud server (Keystone, services, Placement) on every loopback address, and one inside the namespace. */
async function startTargetServers(net: DownShareNet, workDir: string, keepAliveSeconds: number, providers: number): Promise<TargetServers> {
  const lastLines = new Map<string, string>();
  const server = (name: string, args: string[], namespace?: string) =>
    spawnChild({
      name,
      command: process.execPath,
      args: [TARGET_SERVER, '--keep-alive', String(keepAliveSeconds), '--providers', String(providers), ...args],
      logFile: join(workDir, `${name}.log`),
      ...(namespace && { namespace }),
      onLine: (line) => lastLines.set(name, line),
    });
  const host = server('target-server-host', ['--host', '0.0.0.0', '--port', '0', '--only-local-prefix', '127.']);
  const { listening: port } = await firstJsonLine<{ listening: number }>(host, 'listening', 10_000);
  const namespace = server('target-server-namespace', ['--host', '0.0.0.0', '--port', String(port)], net.namespace);
  await firstJsonLine(namespace, 'listening', 10_000);
  // Both answer before anything is measured.
  for (const address of [loopbackAddresses(1)[0]!, net.addresses(1)[0]!]) {
    const response = await fetch(`http://${address}:${port}/v3`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { version?: { id?: string } };
    if (response.status !== 200 || body.version?.id !== 'v3.14') throw new Error(`target http://${address}:${port}/v3 answered ${response.status}`);
  }
  return {
    port,
    host,
    namespace,
    async checkedSince(epochMs) {
      const response = await fetch(`http://127.0.0.1:${port}/_bench/checked?since=${Math.floor(epochMs)}`, { signal: AbortSignal.timeout(10_000) });
      return new Set(((await response.json()) as { addresses: string[] }).addresses);
    },
    async counts() {
      const response = await fetch(`http://127.0.0.1:${port}/_bench/counts`, { signal: AbortSignal.timeout(10_000) });
      return (await response.json()) as TargetCounts;
    },
    async stop() {
      await Promise.all([host.stop(5000), namespace.stop(5000)]);
      const counts = (name: string) => {
        try {
          return JSON.parse(lastLines.get(name) ?? '{}') as Record<string, unknown>;
        } catch {
          return {};
        }
      };
      return { host: counts(host.name), namespace: counts(namespace.name) };
    },
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  preflight(options);
  const startedAt = nowMs();
  const date = new Date().toISOString();
  const machine = {
    cores: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gb: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    fping: version('fping', ['-v']),
    ping: version('ping', ['-V']),
  };
  const workRoot = mkdtempSync(join(tmpdir(), 'vim-monitor-bench-'));
  let net: DownShareNet | undefined;
  const cleanup = () => {
    killAllChildren();
    net?.close();
    net = undefined;
    if (!options.keep) rmSync(workRoot, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`\n${signal}: stopping the benchmark's processes and removing its namespace`);
      cleanup();
      process.exit(130);
    });
  }
  const watchdog = setTimeout(() => {
    log(`\nthe benchmark ran past --max-minutes ${options.maxMinutes}: stopping`);
    cleanup();
    process.exit(2);
  }, options.maxMinutes * 60_000);
  watchdog.unref();

  log(
    `vim-monitor benchmark: sizes ${options.sizes.join(', ') || 'none'}, window ${options.durationSeconds} s × ${options.repeat}, engines ${options.engines.join(', ')}; deep-check sizes ${options.deep.sizes.join(', ') || 'none'}; ` +
      `history ${options.history ? `${options.history.vims} VIMs × ${options.history.days} days on ${options.history.dialects.join(', ')}` : 'none'}; ` +
      `dashboard ${options.dashboard ? `${options.dashboard.vims} VIMs, ${options.dashboard.minutes} min` : 'none'}; work dir ${workRoot}`,
  );
  const targets = needsTargets(options)
    ? await (async () => {
        const downNet = startDownShareNet();
        net = downNet;
        const servers = await startTargetServers(downNet, workRoot, options.targetKeepAliveSeconds, options.providers);
        log(`targets: simulated Keystone, services and Placement on port ${servers.port} of 127.20.0.0/14 (loopback) and ${downNet.range} (namespace ${downNet.namespace})`);
        return { net: downNet, servers };
      })()
    : undefined;

  const results: MonitoringRunResult[] = [];
  const errors: Array<{ vims: number; error: string }> = [];
  let idle: IdleRunResult | { error: string } | undefined;
  if (options.idleSeconds > 0) {
    log('idle service:');
    try {
      idle = await runIdle({
        cli: CLI,
        workDir: join(workRoot, 'idle'),
        engine: options.engines[0]!,
        settleSeconds: 20,
        durationSeconds: options.idleSeconds,
        nodeArgs: options.nodeArgs,
        log,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`  idle service failed: ${message}`);
      idle = { error: message };
      errors.push({ vims: 0, error: `idle: ${message}` });
    }
  }
  const httpFloorClient = options.sizes.length > 0 ? buildHttpFloor(join(workRoot, 'floor')) : { error: 'not built' };
  if ('error' in httpFloorClient && options.sizes.length > 0) {
    // Without it there is no floor to judge against: the run says so and exits 1.
    log(`HTTP floor: ${httpFloorClient.error}`);
    errors.push({ vims: 0, error: `HTTP floor: ${httpFloorClient.error}` });
  }
  for (const vims of options.sizes) {
    if (!targets) break;
    log(`N=${vims}:`);
    try {
      results.push(
        await runMonitoring({
          cli: CLI,
          workDir: join(workRoot, `n${vims}`),
          vims,
          durationSeconds: options.durationSeconds,
          repeat: options.repeat,
          engines: options.engines,
          floorIcmpIntervalMs: options.floorIcmpIntervalMs,
          httpFloorClient,
          downShare: options.downShare,
          icmpDurationSeconds: options.icmpDurationSeconds,
          legacySample: options.legacySample,
          concurrency: options.concurrency,
          cpuProf: options.cpuProf,
          nodeArgs: options.nodeArgs,
          icmpCycle: options.icmpCycle,
          net: targets.net,
          targetPort: targets.servers.port,
          log,
        }),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`  N=${vims} failed: ${message}`);
      errors.push({ vims, error: message });
      // A failed size may leave the namespace's hosts down: bring them back for the next.
      targets.net.up();
    }
  }
  const deepResults: DeepRunResult[] = [];
  for (const vims of options.deep.sizes) {
    if (!targets) break;
    log(`deep checks, N=${vims}:`);
    try {
      deepResults.push(
        await runDeepChecks({
          cli: CLI,
          workDir: join(workRoot, `deep-n${vims}`),
          vims,
          deepIntervalSeconds: options.deep.intervalSeconds,
          durationSeconds: options.deep.durationSeconds,
          baselineSeconds: options.deep.baselineSeconds,
          providers: options.providers,
          concurrency: options.concurrency,
          nodeArgs: options.nodeArgs,
          targetPort: targets.servers.port,
          counts: () => targets.servers.counts(),
          log,
        }),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`  deep checks N=${vims} failed: ${message}`);
      errors.push({ vims, error: `deep checks: ${message}` });
    }
  }
  let failover: FailoverResult | { skipped: string } | { error: string } | undefined;
  if (options.failover && targets) {
    const unavailable = await failoverUnavailable(CLI, options.failover.adminUrl);
    if (unavailable) {
      log(`failover: skipped: ${unavailable}`);
      failover = { skipped: unavailable };
    } else {
      log('failover:');
      try {
        failover = await runFailover({
          cli: CLI,
          workDir: join(workRoot, 'failover'),
          vims: options.failover.vims,
          workers: options.failover.workers,
          adminUrl: options.failover.adminUrl,
          targetPort: targets.servers.port,
          checkedSince: (ms) => targets.servers.checkedSince(ms),
          concurrency: options.concurrency,
          log,
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`  failover failed: ${message}`);
        failover = { error: message };
        errors.push({ vims: options.failover.vims, error: `failover: ${message}` });
      }
    }
  }
  let confirmation: ConfirmResult | { skipped: string } | { error: string } | undefined;
  if (options.confirm) {
    const unavailable = await failoverUnavailable(CLI, options.pgUrl);
    if (unavailable) {
      log(`confirmation: skipped: ${unavailable}`);
      confirmation = { skipped: unavailable };
    } else {
      log('confirmation:');
      try {
        confirmation = await runConfirmation({
          cli: CLI,
          targetServer: TARGET_SERVER,
          workDir: join(workRoot, 'confirm'),
          vims: options.confirm.vims,
          downShare: options.confirm.downShare,
          windowSeconds: options.confirm.windowSeconds,
          withGuardRun: options.confirm.guardRun,
          adminUrl: options.pgUrl,
          concurrency: options.concurrency,
          log,
        });
        for (const e of confirmation.errors) errors.push({ vims: options.confirm.vims, error: `confirmation (${e.config}): ${e.error}` });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`  confirmation failed: ${message}`);
        confirmation = { error: message };
        errors.push({ vims: options.confirm.vims, error: `confirmation: ${message}` });
      }
    }
  }
  let dashboard: DashboardResult | { error: string } | undefined;
  if (options.dashboard) {
    log(`dashboard, N=${options.dashboard.vims}:`);
    try {
      dashboard = await runDashboard({
        cli: CLI,
        targetServer: TARGET_SERVER,
        workDir: join(workRoot, 'dashboard'),
        vims: options.dashboard.vims,
        coldRuns: options.dashboard.coldRuns,
        minutes: options.dashboard.minutes,
        changesPerMinute: options.dashboard.changesPerMinute,
        sampleSeconds: 30,
        concurrency: options.concurrency,
        log,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`  dashboard failed: ${message}`);
      dashboard = { error: message };
      errors.push({ vims: options.dashboard.vims, error: `dashboard: ${message}` });
    }
  }
  let scale: ScaleResult | { skipped: string } | { error: string } | undefined;
  if (options.scale) {
    const unavailable = await failoverUnavailable(CLI, options.pgUrl);
    log(unavailable ? `scale: skipped: ${unavailable}` : 'scale:');
    try {
      scale = unavailable
        ? { skipped: unavailable }
        : await runScale({ ...options.scale, cli: CLI, workDir: join(workRoot, 'scale'), adminUrl: options.pgUrl, log });
      if ('errors' in scale) for (const e of scale.errors) errors.push({ vims: e.vims, error: `scale: ${e.error}` });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`  scale failed: ${message}`);
      scale = { error: message };
      errors.push({ vims: options.scale.sizes[0] ?? 0, error: `scale: ${message}` });
    }
  }
  const targetRequests = targets ? await targets.servers.stop() : undefined;
  net?.close();
  net = undefined;
  let history: HistoryResult | undefined;
  if (options.history) {
    const dialects = [...options.history.dialects];
    const skipped: Array<{ dialect: HistoryDialect; error: string }> = [];
    if (dialects.includes('postgres')) {
      const unavailable = await historyPostgresUnavailable(options.pgUrl);
      if (unavailable) {
        log(`history on postgres: skipped: ${unavailable}`);
        dialects.splice(dialects.indexOf('postgres'), 1);
        skipped.push({ dialect: 'postgres', error: `skipped: ${unavailable}` });
      }
    }
    log('history:');
    try {
      history = await runHistory({
        dialects,
        vims: options.history.vims,
        days: options.history.days,
        hourlyDays: HISTORY_HOURLY_DAYS,
        // Halfway between the hourly limit and the oldest day written: the delete pass has days to delete too.
        deleteAfterDays: Math.max(1, Math.round((Math.min(options.history.days, HISTORY_HOURLY_DAYS) + options.history.days) / 2)),
        pruneBatch: HISTORY_PRUNE_BATCH,
        repetitions: options.history.repetitions,
        adminUrl: options.pgUrl,
        workDir: join(workRoot, 'history'),
        log,
      });
      history.errors.push(...skipped);
      for (const e of history.errors) if (!e.error.startsWith('skipped')) errors.push({ vims: options.history.vims, error: `history (${e.dialect}): ${e.error}` });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`  history failed: ${message}`);
      errors.push({ vims: options.history.vims, error: `history: ${message}` });
    }
  }

  const totalSeconds = round((nowMs() - startedAt) / 1000, 0);
  const document = {
    benchmark: 'vim-monitor',
    date,
    machine,
    options: {
      ...options,
      output: undefined,
      failover: options.failover && { ...options.failover, adminUrl: options.failover.adminUrl.replace(/:[^:@/]*@/, ':***@') },
      pgUrl: options.pgUrl.replace(/:[^:@/]*@/, ':***@'),
    },
    monitor_settings: { ...MONITOR_SETTINGS, probes: ['icmp', 'api'], deep_interval: NO_DEEP_INTERVAL },
    total_seconds: totalSeconds,
    engine_setting: `VIM_MONITOR_${ENGINE_SETTING}`,
    idle,
    idle_target: idle && 'cpu_percent' in idle ? judgeIdle(idle) : undefined,
    results,
    targets: Object.fromEntries(columnsOf(results).map(({ r, e }) => [`${r.vims}/${e.engine}`, judge(r, e)])),
    deep_checks: deepResults,
    failover,
    failover_target: failover && 'fresh_verdict' in failover ? judgeFailover(failover) : undefined,
    confirmation,
    confirmation_target: confirmation && 'runs' in confirmation ? judgeConfirm(confirmation) : undefined,
    dashboard,
    target_server_requests: targetRequests,
    history,
    scale,
    errors,
  };
  const notes = [
    options.cpuProf && 'with --cpu-prof: figures inflated',
    options.nodeArgs.length > 0 && `vim-monitor run with node ${options.nodeArgs.join(' ')}`,
    options.targetKeepAliveSeconds !== 5 && `targets keep idle connections ${options.targetKeepAliveSeconds} s`,
    options.floorIcmpIntervalMs !== 1 && `ICMP floor at fping -i ${options.floorIcmpIntervalMs}`,
  ].filter(Boolean);
  const header = `vim-monitor benchmark, ${date.slice(0, 16).replace('T', ' ')} UTC: ${machine.cores} cores (${machine.cpu_model}), ${machine.memory_gb} GB, Node ${machine.node}, ${machine.fping}; whole bench ${totalSeconds} s${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
  process.stdout.write(`${results.length > 0 ? table(results, header) : header}\n`);
  if (idle) process.stdout.write(`\n${idleLine(idle)}\n`);
  if (deepResults.length > 0) process.stdout.write(`\n${deepTable(deepResults)}\n`);
  if (failover) process.stdout.write(`\n${failoverTable(failover)}\n`);
  if (confirmation) process.stdout.write(`\n${confirmTable(confirmation)}\n`);
  if (history) process.stdout.write(`\n${historyTable(history)}\n`);
  if (dashboard && 'live' in dashboard) process.stdout.write(`\n${dashboardTable(dashboard)}\n`);
  if (scale && 'runs' in scale) process.stdout.write(`\n${scaleTable(scale)}\n`);
  for (const { r, e } of columnsOf(results)) {
    for (const [name, p] of Object.entries(e.cpu_profiles ?? {})) {
      if (!p) continue;
      process.stdout.write(`\nN=${r.vims} ${e.engine} ${name}: where the JavaScript thread's CPU goes (${p.file})\n`);
      for (const a of p.areas) process.stdout.write(`  ${String(a.percent).padStart(5)} %  ${a.area}\n`);
      process.stdout.write('  top functions (self time):\n');
      for (const f of p.functions) process.stdout.write(`  ${String(f.percent).padStart(5)} %  ${f.fn}\n`);
    }
  }
  for (const e of errors) process.stdout.write(`\n${/^(failover|confirmation|history|dashboard|idle|HTTP floor)/.test(e.error) ? '' : `N=${e.vims}: `}FAILED TO RUN: ${e.error}\n`);
  const json = JSON.stringify(document, null, 2);
  process.stdout.write(`\n${json}\n`);
  mkdirSync(dirname(options.output), { recursive: true });
  writeFileSync(options.output, `${json}\n`);
  process.stdout.write(`\nJSON written to ${options.output}${options.keep ? `; work directory kept: ${workRoot}` : ''}\n`);
  return errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`vim-monitor benchmark: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
