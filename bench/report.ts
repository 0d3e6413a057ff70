/** The benchmark's verdicts (targets) and its human table. */
import type { DeepRunResult, DeepWindow } from './deep-run.js';
import type { FailoverResult } from './failover.js';
import type { IdleRunResult } from './idle-run.js';
import { WARM_UP_SECONDS, type EngineRunResult, type MonitoringRunResult, type Range } from './monitoring-run.js';
import { fmt } from './util.js';

export interface TargetVerdict {
  name: string;
  /** The target in words, e.g. '≤ 25 %'. */
  target: string;
  value: number | null;
  pass: boolean;
}

/** Issue 13: CPU per VIM round at most this many times the floor measured in the same run. */
export const FLOOR_RATIO_TARGET = 2;
export const PEAK_RSS_TARGET_MB = 200;
export const IDLE_CPU_TARGET_PERCENT = 0.5;

/** One column of the table: one size with one probe engine. */
export interface Column {
  r: MonitoringRunResult;
  e: EngineRunResult;
}

export const columnsOf = (results: MonitoringRunResult[]): Column[] => results.flatMap((r) => r.engines.map((e) => ({ r, e })));

/**
 * The project's targets (issues 4 and 13), judged on one size and engine.
 * Figures measured in several windows are judged on the worst of them: a
 * range passes only when all of it does.
 */
export function judge(r: MonitoringRunResult, e: EngineRunResult): TargetVerdict[] {
  const le = (value: number | null, bound: number) => value !== null && value <= bound;
  const ge = (value: number | null, bound: number) => value !== null && value >= bound;
  const within = e.ranges.within_1s_share.min;
  const warnings = Object.values(e.log_warnings).reduce((a, b) => a + b, 0);
  const d = e.down_up;
  const ratio = e.ranges.ratio_to_floor?.max ?? null;
  return [
    { name: 'ratio_to_floor', target: `≤ ${FLOOR_RATIO_TARGET}× the floor, every window`, value: ratio, pass: le(ratio, FLOOR_RATIO_TARGET) },
    { name: 'cpu_percent', target: '≤ 25 % of one core', value: e.ranges.cpu_percent.max, pass: le(e.ranges.cpu_percent.max, 25) },
    { name: 'peak_rss_mb', target: `≤ ${PEAK_RSS_TARGET_MB} MB`, value: e.peak_rss_mb, pass: le(e.peak_rss_mb, PEAK_RSS_TARGET_MB) },
    { name: 'rounds_within_1s', target: '100 %', value: within * 100, pass: within === 1 },
    { name: 'detection_p99_s', target: `≤ ${d.detection_bound_s} s`, value: d.detection.p99_s, pass: d.taken_down === 0 || le(d.detection.p99_s, d.detection_bound_s) },
    { name: 'recovery_p99_s', target: `≤ ${d.recovery_bound_s} s`, value: d.recovery.p99_s, pass: d.taken_down === 0 || le(d.recovery.p99_s, d.recovery_bound_s) },
    { name: 'log_warnings', target: 'none', value: warnings, pass: warnings === 0 },
    { name: 'legacy_over_vim_monitor', target: '≥ 20×', value: e.ratios.legacy_over_vim_monitor, pass: ge(e.ratios.legacy_over_vim_monitor, 20) },
    { name: 'vim_monitor_over_fping', target: '≤ 2×', value: e.ratios.vim_monitor_over_fping, pass: le(e.ratios.vim_monitor_over_fping, 2) },
  ];
}

export function judgeIdle(idle: IdleRunResult): TargetVerdict {
  return { name: 'idle_cpu_percent', target: `< ${IDLE_CPU_TARGET_PERCENT} % of one core`, value: idle.cpu_percent, pass: idle.cpu_percent < IDLE_CPU_TARGET_PERCENT };
}

/** 'a–b', or 'a' when both ends round to the same text. */
export function fmtRange(range: Range | null | undefined, digits = 1): string {
  if (!range) return '—';
  const low = fmt(range.min, digits);
  const high = fmt(range.max, digits);
  return low === high ? low : `${low}–${high}`;
}

interface Row {
  label: string;
  cells: string[];
  target?: string;
}

export function table(results: MonitoringRunResult[], header: string): string {
  const columns = columnsOf(results);
  const first = columns[0]!;
  const repeats = first.e.windows.length;
  const rows: Array<Row | string> = [];
  const all = (label: string, text: (c: Column) => string, target?: string): void => {
    rows.push({ label, cells: columns.map(text), ...(target && { target }) });
  };
  const judged = (label: string, name: string, text: (c: Column) => string): void => {
    rows.push({
      label,
      cells: columns.map((c) => {
        const v = judge(c.r, c.e).find((t) => t.name === name);
        return `${text(c)}${v ? (v.pass ? '  PASS' : '  FAIL') : ''}`;
      }),
      target: judge(first.r, first.e).find((t) => t.name === name)?.target ?? '',
    });
  };
  all('targets: loopback + namespace (down share)', ({ r }) => `${r.targets.loopback} + ${r.targets.namespace}`);
  all('registration (API POSTs)', ({ r }) => `${fmt(r.registration.seconds, 1)} s, ${fmt(r.registration.per_second, 0)}/s (c=${r.registration.concurrency})`);
  all('  its process: CPU, peak RSS', ({ r }) => `${fmt(r.registration.process_cpu_percent, 0)} %, ${fmt(r.registration.process_peak_rss_mb, 0)} MB`);
  rows.push(`floors, same run, same targets, no vim-monitor running (CPU per check${repeats > 1 ? `; min–max of ${repeats} measurements` : ''})`);
  all('  ICMP: one fping over all targets', ({ r }) => `${fmtRange(r.floor_ranges.icmp_us, 1)} µs`);
  all('  HTTP: C client, epoll, connect…close', ({ r }) => (r.floor_ranges.http_us ? `${fmtRange(r.floor_ranges.http_us, 1)} µs` : `— (${r.floors[0]?.http_error ?? 'not measured'})`.slice(0, 40)));
  all('  floor per VIM round (icmp + http)', ({ r }) => `${fmtRange(r.floor_ranges.per_vim_round_us, 1)} µs`);
  all('  floor at N VIMs every 10 s', ({ r }) => `${fmtRange(r.floor_ranges.cpu_percent_at_interval, 2)} %`);
  rows.push(
    `steady state, probes icmp+api, interval 10 s (one process, SQLite; ${repeats > 1 ? `min–max of ${repeats} windows of` : 'a window of'} ${fmt(first.e.windows[0]?.seconds, 0)} s${repeats > 1 ? ', a fresh process each' : ''})`,
  );
  all('  probe engine asked / reported', ({ e }) => `${e.engine} / ${e.reported_engine?.split(' ')[0] ?? 'not reported'}`);
  all('  restart: API up / every monitor ran', ({ e }) => `${fmt(e.restart.startup_seconds, 1)} s / +${fmt(e.restart.settle_seconds, 1)} s`);
  all(`  CPU from the start until the window (${WARM_UP_SECONDS} s)`, ({ e }) => `${fmtRange(rangeOfWindows(e, (w) => w.warm_up?.cpu_percent ?? null), 1)} %`);
  judged('  CPU, avg % of one core (incl. fping)', 'cpu_percent', ({ e }) => `${fmtRange(e.ranges.cpu_percent, 1)} %`);
  all('  CPU, busiest 10 s', ({ e }) => `${fmtRange(rangeOfWindows(e, (w) => w.cpu_percent_busiest_10s), 1)} %`);
  all('  CPU per VIM round', ({ e }) => `${fmtRange(e.ranges.cpu_us_per_vim_round, 1)} µs`);
  judged('  ratio to the floor', 'ratio_to_floor', ({ e }) => `${fmtRange(e.ranges.ratio_to_floor, 2)}×`);
  judged('  peak RSS (VmHWM, whole process life)', 'peak_rss_mb', ({ e }) => `${fmt(e.peak_rss_mb, 0)} MB`);
  all('  rounds executed / expected at 10 s', ({ e }) => e.windows.map((w) => `${w.rounds.executed}/${w.rounds.expected_at_interval}`).join(', '));
  all('  effective interval', ({ e }) => `${fmtRange(rangeOfWindows(e, (w) => w.rounds.effective_interval_s), 2)} s`);
  judged('  rounds within 1 s of schedule', 'rounds_within_1s', ({ e }) => `${fmtRange(rangeOfWindows(e, (w) => w.rounds.within_1s_share * 100), 2)} %`);
  all('  lateness p50/p99/max (since start)', ({ e }) => {
    const l = e.windows[e.windows.length - 1]!.rounds.lateness_ms_since_start;
    return `${l.p50}/${l.p99}/${l.max} ms`;
  });
  all('  monitors replaced by the sweep', ({ e }) => e.windows.map((w) => String(w.replacements)).join(', '));
  judged('  warning/error lines in its logs', 'log_warnings', ({ e }) => String(Object.values(e.log_warnings).reduce((a, b) => a + b, 0)));
  rows.push('down share goes down, then comes back (after the first window)');
  all('  VIMs taken down', ({ e }) => String(e.down_up.taken_down));
  all('  detection p50', ({ e }) => `${fmt(e.down_up.detection.p50_s, 1)} s`);
  judged('  detection p99', 'detection_p99_s', ({ e }) => `${fmt(e.down_up.detection.p99_s, 1)} s`);
  all('  detection max (seen / down)', ({ e }) => `${fmt(e.down_up.detection.max_s, 1)} s (${e.down_up.detection.observed}/${e.down_up.detection.vims})`);
  all('  recovery p50', ({ e }) => `${fmt(e.down_up.recovery.p50_s, 1)} s`);
  judged('  recovery p99', 'recovery_p99_s', ({ e }) => `${fmt(e.down_up.recovery.p99_s, 1)} s`);
  all('  false UNREACHABLE (others)', ({ e }) => String(e.down_up.false_unreachable));
  all('  CPU meanwhile (bench polls the API 5×/s)', ({ e }) => `${fmt(e.down_up_cpu_percent, 1)} %`);
  if (columns.some(({ e }) => e.icmp_only.down_up)) {
    all('  same cycle, probes=icmp only: detection p50 / p99', ({ e }) => `${fmt(e.icmp_only.down_up?.detection.p50_s, 1)} s / ${fmt(e.icmp_only.down_up?.detection.p99_s, 1)} s`);
    all('    recovery p50 / p99', ({ e }) => `${fmt(e.icmp_only.down_up?.recovery.p50_s, 1)} s / ${fmt(e.icmp_only.down_up?.recovery.p99_s, 1)} s`);
    all('    monitors replaced by the sweep', ({ e }) => String(e.icmp_only.replacements));
  }
  rows.push('CPU per ICMP check');
  all('  vim-monitor, probes=icmp (whole process)', ({ e }) => `${fmt(e.icmp_only.cpu_us_per_check, 1)} µs (${fmt(e.icmp_only.cpu_percent, 1)} %, ${fmt(e.icmp_only.peak_rss_mb, 0)} MB)`);
  all('  legacy: ping process per check', ({ r }) => `${fmt(r.references.legacy.cpuUsPerCheck, 0)} µs (+${fmt(r.references.legacy.cpuUsPerCheckWithSpawner - r.references.legacy.cpuUsPerCheck, 0)} spawner)`);
  all('  fping alone, same batches', ({ r }) => `${fmt(r.references.fping.cpuUsPerCheck, 1)} µs (${r.references.fping.checks / r.references.fping.processes}/process)`);
  judged('  legacy / vim-monitor', 'legacy_over_vim_monitor', ({ e }) => `${fmt(e.ratios.legacy_over_vim_monitor, 1)}×`);
  judged('  vim-monitor / fping batches', 'vim_monitor_over_fping', ({ e }) => `${fmt(e.ratios.vim_monitor_over_fping, 2)}×`);

  const labelWidth = Math.max(...rows.map((row) => (typeof row === 'string' ? 0 : row.label.length)));
  const heads = columns.map(({ r, e }) => `N=${r.vims.toLocaleString('en-US')}${results.some((x) => x.engines.length > 1) ? ` ${e.engine}` : ''}`);
  const widths = columns.map((_, i) => Math.max(heads[i]!.length, ...rows.map((row) => (typeof row === 'string' ? 0 : (row.cells[i] ?? '').length))));
  const line = (label: string, cells: string[], target = '') =>
    `${label.padEnd(labelWidth)}  ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')}  ${target}`.trimEnd();
  const out = [header, '', line('', heads, 'target')];
  for (const row of rows) out.push(typeof row === 'string' ? row : line(row.label, row.cells, row.target ?? ''));
  return out.join('\n');
}

function rangeOfWindows(e: EngineRunResult, value: (w: EngineRunResult['windows'][number]) => number | null): Range | null {
  const values = e.windows.map(value).filter((v): v is number => v !== null);
  return values.length === 0 ? null : { min: Math.min(...values), max: Math.max(...values) };
}

/** The idle service's line, with its verdict. */
export function idleLine(idle: IdleRunResult | { error: string }): string {
  if ('error' in idle) return `idle service: FAILED TO RUN: ${idle.error}`;
  const v = judgeIdle(idle);
  const warnings = Object.values(idle.log_warnings).reduce((a, b) => a + b, 0);
  return (
    `idle service (no VIM, engine ${idle.engine}${idle.reported_engine ? '' : ', not reported'}; ${fmt(idle.settle_seconds, 0)} s to settle, then ${fmt(idle.seconds, 0)} s): ` +
    `${fmt(idle.cpu_percent, 2)} % of one core, peak RSS ${fmt(idle.peak_rss_mb, 0)} MB, ${warnings} warning lines  ${v.pass ? 'PASS' : 'FAIL'}  ${v.target}`
  );
}

/** The failover run's verdict: every VIM of the killed worker freshly checked by a survivor within the bound. */
export function judgeFailover(f: FailoverResult): TargetVerdict {
  const value = f.fresh_verdict.all_s;
  return { name: 'failover_fresh_verdict_s', target: `≤ ${f.bound_s} s (lease_ttl + sweep_interval + 1 s)`, value, pass: value !== null && value <= f.bound_s };
}

export function failoverTable(f: FailoverResult | { skipped: string } | { error: string }): string {
  if ('skipped' in f) return `failover: skipped: ${f.skipped}`;
  if ('error' in f) return `failover: FAILED TO RUN: ${f.error}`;
  const shares = (record: Record<string, number>) => Object.values(record).join(' / ');
  const lines: Array<[string, string, string?]> = [
    ['registration / spread over the workers, all REACHABLE', `${fmt(f.registration_seconds, 1)} s / ${fmt(f.balanced_seconds, 1)} s after start`],
    ['monitors per worker', shares(f.share_before)],
    ['worker CPU, % of one core (10 s)', Object.values(f.worker_cpu_percent_before).map((v) => fmt(v, 1)).join(' / ')],
    ['worker peak RSS, MB', Object.values(f.worker_peak_rss_mb).map((v) => fmt(v, 0)).join(' / ')],
    [`killed ${f.killed.worker} (SIGKILL)`, `${f.killed.vims} VIMs`],
    ['taken over by a survivor: p50 / p99 / all', `${fmt(f.takeover.p50_s, 1)} / ${fmt(f.takeover.p99_s, 1)} / ${fmt(f.takeover.all_s, 1)} s (${f.takeover.observed}/${f.killed.vims})`],
    ['freshly checked by a survivor: p50 / p99', `${fmt(f.fresh_verdict.p50_s, 1)} / ${fmt(f.fresh_verdict.p99_s, 1)} s`],
  ];
  const verdict = judgeFailover(f);
  lines.push(['  all of them', `${fmt(f.fresh_verdict.all_s, 1)} s (${f.fresh_verdict.observed}/${f.killed.vims})  ${verdict.pass ? 'PASS' : 'FAIL'}`, verdict.target]);
  lines.push(['monitors per survivor after', shares(Object.fromEntries(Object.entries(f.share_after).filter(([name]) => name !== f.killed.worker)))]);
  lines.push(['false UNREACHABLE (others)', String(f.false_unreachable)]);
  const width = Math.max(...lines.map(([label]) => label.length));
  const valueWidth = Math.max(...lines.map(([, value]) => value.length));
  return [
    `failover: ${f.workers} × vim-monitor worker + an API-only serve, ${f.vims.toLocaleString('en-US')} VIMs, PostgreSQL; lease_ttl ${f.settings.lease_ttl} s, sweep ${f.settings.sweep_interval} s, heartbeat ${f.settings.heartbeat_interval} s`,
    ...lines.map(([label, value, target]) => `  ${label.padEnd(width)}  ${value.padStart(valueWidth)}  ${target ?? ''}`.trimEnd()),
  ].join('\n');
}

/** The deep-check phase: each size without and with deep checks, and the difference. */
export function deepTable(results: DeepRunResult[]): string {
  const first = results[0]!;
  const rows: Array<[string, string[]] | string> = [];
  const all = (label: string, text: (r: DeepRunResult) => string) => rows.push([label, results.map(text)]);
  const window = (w: (r: DeepRunResult) => DeepWindow) => {
    all('  window / settle before it', (r) => `${fmt(w(r).seconds, 0)} s / ${fmt(w(r).settle_seconds, 1)} s`);
    all('  not REACHABLE at window start / end', (r) => `${w(r).not_reachable_at_start} / ${w(r).not_reachable_at_end ?? '—'}`);
    all('  CPU, avg % of one core (incl. fping)', (r) => `${fmt(w(r).cpu_percent, 1)} %`);
    all('  CPU, busiest 10 s', (r) => `${fmt(w(r).cpu_percent_busiest_10s, 1)} %`);
    all('  peak RSS (VmHWM)', (r) => `${fmt(w(r).peak_rss_mb, 0)} MB`);
    all('  requests/s the VIMs received', (r) => fmt(w(r).requests.per_second, 0));
    all('  checks executed / expected at 10 s', (r) => `${w(r).rounds.executed} / ${w(r).rounds.expected_at_interval}`);
    all('  checks within 1 s of schedule', (r) => `${fmt(w(r).rounds.within_1s_share * 100, 2)} %`);
    all('  lateness p50/p99/max (since start)', (r) => {
      const l = w(r).rounds.lateness_ms_since_start;
      return `${l.p50}/${l.p99}/${l.max} ms`;
    });
    all('  deep runs complete / expected', (r) => `${w(r).deep_runs.complete} / ${fmt(w(r).deep_runs.expected, 0)}${w(r).deep_runs.complete_share_of_expected === null ? '' : ` (${fmt(w(r).deep_runs.complete_share_of_expected! * 100, 1)} %)`}`);
    all('  health OK / all conditions True / capacity', (r) => {
      const m = w(r).monitors;
      return m ? `${m.health.OK ?? 0} / ${m.all_conditions_true} / ${m.capacity_measured}` : '— (API did not answer)';
    });
    all('  monitors replaced by the sweep', (r) => String(w(r).replacements));
    all('  simulated VIMs\' CPU / other processes\' CPU', (r) => `${fmt(w(r).target_server_cpu_percent, 1)} % / ${fmt(w(r).other_processes_cpu_percent, 1)} %`);
    all('  load average (1 min), start → end', (r) => `${fmt(w(r).load_average.start[0], 2)} → ${fmt(w(r).load_average.end[0], 2)}`);
  };
  all('registration (API POSTs)', (r) => `${fmt(r.registration.seconds, 1)} s, ${fmt(r.registration.per_second, 0)}/s`);
  rows.push(`without deep checks (deep_interval ${first.without_deep.deep_interval_s.toLocaleString('en-US')} s, the maximum)`);
  window((r) => r.without_deep);
  rows.push(`with deep checks (deep_interval ${first.with_deep.deep_interval_s} s)`);
  window((r) => r.with_deep);
  rows.push('added by deep checks');
  all('  CPU, points of one core', (r) => `+${fmt(r.added.cpu_points, 1)}`);
  all('  peak RSS', (r) => `${r.added.peak_rss_mb >= 0 ? '+' : ''}${fmt(r.added.peak_rss_mb, 0)} MB`);
  all('  requests/s to the VIMs', (r) => `+${fmt(r.added.requests_per_second, 0)}`);
  all('  CPU per deep run / per deep request', (r) => `${fmt(r.added.cpu_us_per_deep_run, 0)} µs / ${fmt(r.added.cpu_us_per_deep_request, 0)} µs`);

  const labelWidth = Math.max(...rows.map((row) => (typeof row === 'string' ? 0 : row[0].length)));
  const widths = results.map((r, i) => Math.max(`N=${r.vims.toLocaleString('en-US')}`.length, ...rows.map((row) => (typeof row === 'string' ? 0 : (row[1][i] ?? '').length))));
  const line = (label: string, cells: string[]) => `${label.padEnd(labelWidth)}  ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')}`.trimEnd();
  return [
    `deep checks: one process, SQLite, probes ${first.with_deep.probes.replaceAll(',', '+')}, interval 10 s; each simulated cloud lists ${first.services.join(', ')} and ${first.providers} resource providers (${first.requests_per_deep_run} GETs per deep run)`,
    '',
    line('', results.map((r) => `N=${r.vims.toLocaleString('en-US')}`)),
    ...rows.map((row) => (typeof row === 'string' ? row : line(row[0], row[1]))),
  ].join('\n');
}
