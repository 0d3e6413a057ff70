/** The benchmark's verdicts (targets) and its human table. */
import type { DeepRunResult, DeepWindow } from './deep-run.js';
import type { FailoverResult } from './failover.js';
import type { MonitoringRunResult } from './monitoring-run.js';
import { fmt } from './util.js';

export interface TargetVerdict {
  name: string;
  /** The target in words, e.g. '≤ 25 %'. */
  target: string;
  value: number | null;
  pass: boolean;
}

/** The project's targets (issue 4), judged on one size's figures. */
export function judge(r: MonitoringRunResult): TargetVerdict[] {
  const le = (value: number | null, bound: number) => value !== null && value <= bound;
  const ge = (value: number | null, bound: number) => value !== null && value >= bound;
  const p99 = r.down_up.detection.p99_s;
  const within = r.window.rounds.within_1s_share;
  return [
    { name: 'cpu_percent', target: '≤ 25 % of one core', value: r.window.cpu_percent, pass: le(r.window.cpu_percent, 25) },
    { name: 'peak_rss_mb', target: '≤ 300 MB', value: r.window.peak_rss_mb, pass: le(r.window.peak_rss_mb, 300) },
    { name: 'checks_within_1s', target: '≥ 99.9 %', value: within * 100, pass: ge(within, 0.999) },
    { name: 'detection_p99_s', target: `≤ ${r.down_up.detection_bound_s} s`, value: p99, pass: r.down_up.taken_down === 0 || le(p99, r.down_up.detection_bound_s) },
    { name: 'legacy_over_vim_monitor', target: '≥ 20×', value: r.ratios.legacy_over_vim_monitor, pass: ge(r.ratios.legacy_over_vim_monitor, 20) },
    { name: 'vim_monitor_over_fping', target: '≤ 2×', value: r.ratios.vim_monitor_over_fping, pass: le(r.ratios.vim_monitor_over_fping, 2) },
  ];
}

interface Row {
  label: string;
  cells: string[];
  target?: string;
}

const verdict = (results: MonitoringRunResult[], name: string, text: (r: MonitoringRunResult) => string): string[] =>
  results.map((r) => {
    const v = judge(r).find((t) => t.name === name);
    return `${text(r)}${v ? (v.pass ? '  PASS' : '  FAIL') : ''}`;
  });

export function table(results: MonitoringRunResult[], header: string): string {
  const rows: Array<Row | string> = [];
  const all = (label: string, text: (r: MonitoringRunResult) => string, target?: string): void => {
    rows.push({ label, cells: results.map(text), ...(target && { target }) });
  };
  const judged = (label: string, name: string, text: (r: MonitoringRunResult) => string): void => {
    rows.push({ label, cells: verdict(results, name, text), target: judge(results[0]!).find((t) => t.name === name)?.target ?? '' });
  };
  all('targets: loopback + namespace (down share)', (r) => `${r.targets.loopback} + ${r.targets.namespace}`);
  all('registration (API POSTs)', (r) => `${fmt(r.registration.seconds, 1)} s, ${fmt(r.registration.per_second, 0)}/s (c=${r.registration.concurrency})`);
  all('  its process: CPU, peak RSS', (r) => `${fmt(r.registration.process_cpu_percent, 0)} %, ${fmt(r.registration.process_peak_rss_mb, 0)} MB`);
  all('restart: API up / every monitor ran', (r) => `${fmt(r.restart.startup_seconds, 1)} s / +${fmt(r.restart.settle_seconds, 1)} s`);
  rows.push('steady state, probes icmp+api, interval 10 s (one process, SQLite)');
  all('  measurement window', (r) => `${fmt(r.window.seconds, 0)} s`);
  judged('  CPU, avg % of one core (incl. fping)', 'cpu_percent', (r) => `${fmt(r.window.cpu_percent, 1)} %`);
  all('  CPU, busiest 10 s', (r) => `${fmt(r.window.cpu_percent_busiest_10s, 1)} %`);
  judged('  peak RSS (VmHWM)', 'peak_rss_mb', (r) => `${fmt(r.window.peak_rss_mb, 0)} MB`);
  all('  checks executed / expected at 10 s', (r) => `${r.window.rounds.executed} / ${r.window.rounds.expected_at_interval}`);
  all('  effective interval', (r) => `${fmt(r.window.rounds.effective_interval_s, 2)} s`);
  judged('  checks within 1 s of schedule', 'checks_within_1s', (r) => `${fmt(r.window.rounds.within_1s_share * 100, 2)} %`);
  all('  lateness p50/p99/max (since start)', (r) => {
    const l = r.window.rounds.lateness_ms_since_start;
    return `${l.p50}/${l.p99}/${l.max} ms`;
  });
  all('  monitors replaced by the sweep', (r) => String(r.window.replacements));
  rows.push('down share goes down, then comes back');
  all('  VIMs taken down', (r) => String(r.down_up.taken_down));
  all('  detection p50', (r) => `${fmt(r.down_up.detection.p50_s, 1)} s`);
  judged('  detection p99', 'detection_p99_s', (r) => `${fmt(r.down_up.detection.p99_s, 1)} s`);
  all('  detection max (seen / down)', (r) => `${fmt(r.down_up.detection.max_s, 1)} s (${r.down_up.detection.observed}/${r.down_up.detection.vims})`);
  all('  recovery p50 / p99', (r) => `${fmt(r.down_up.recovery.p50_s, 1)} s / ${fmt(r.down_up.recovery.p99_s, 1)} s`);
  all('  false UNREACHABLE (others)', (r) => String(r.down_up.false_unreachable));
  if (results.some((r) => r.icmp_only.down_up)) all('  same cycle, probes=icmp only: detection p50 / p99', (r) => `${fmt(r.icmp_only.down_up?.detection.p50_s, 1)} s / ${fmt(r.icmp_only.down_up?.detection.p99_s, 1)} s`);
  if (results.some((r) => r.icmp_only.down_up)) all('    recovery p50 / p99', (r) => `${fmt(r.icmp_only.down_up?.recovery.p50_s, 1)} s / ${fmt(r.icmp_only.down_up?.recovery.p99_s, 1)} s`);
  if (results.some((r) => r.icmp_only.down_up)) all('    monitors replaced by the sweep', (r) => String(r.icmp_only.replacements));
  rows.push('CPU per ICMP check');
  all('  vim-monitor, probes=icmp (whole process)', (r) => `${fmt(r.icmp_only.cpu_us_per_check, 1)} µs (${fmt(r.icmp_only.cpu_percent, 1)} %, ${fmt(r.icmp_only.peak_rss_mb, 0)} MB)`);
  all('  legacy: ping process per check', (r) => `${fmt(r.references.legacy.cpuUsPerCheck, 0)} µs (+${fmt(r.references.legacy.cpuUsPerCheckWithSpawner - r.references.legacy.cpuUsPerCheck, 0)} spawner)`);
  all('  fping alone, same batches', (r) => `${fmt(r.references.fping.cpuUsPerCheck, 1)} µs (${r.references.fping.checks / r.references.fping.processes}/process)`);
  judged('  legacy / vim-monitor', 'legacy_over_vim_monitor', (r) => `${fmt(r.ratios.legacy_over_vim_monitor, 1)}×`);
  judged('  vim-monitor / fping', 'vim_monitor_over_fping', (r) => `${fmt(r.ratios.vim_monitor_over_fping, 2)}×`);

  const labelWidth = Math.max(...rows.map((row) => (typeof row === 'string' ? 0 : row.label.length)));
  const widths = results.map((r, i) => Math.max(`N=${r.vims}`.length, ...rows.map((row) => (typeof row === 'string' ? 0 : (row.cells[i] ?? '').length))));
  const line = (label: string, cells: string[], target = '') =>
    `${label.padEnd(labelWidth)}  ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')}  ${target}`.trimEnd();
  const out = [header, '', line('', results.map((r) => `N=${r.vims.toLocaleString('en-US')}`), 'target')];
  for (const row of rows) out.push(typeof row === 'string' ? row : line(row.label, row.cells, row.target ?? ''));
  return out.join('\n');
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
