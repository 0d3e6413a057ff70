/** The confirmation phase's verdict and its human table. */
import type { ConfirmResult, ConfirmRunResult } from './confirm-run.js';
import type { TargetVerdict } from './report.js';
import { fmt } from './util.js';

/**
 * Issue 11's target: with confirmation on, a VIM down from one worker only is
 * never reported UNREACHABLE. Only meaningful when w1 owned some cut VIMs.
 */
export function judgeConfirm(result: ConfirmResult): TargetVerdict[] {
  return result.runs.filter((r) => r.config.confirm).map((r) => ({ name: `false_unreachable (${r.config.name})`, target: '0 (w1 owning cut VIMs)', value: r.cut.false_unreachable, pass: passes(r) }));
}

const passes = (r: ConfirmRunResult) => r.cut.false_unreachable === 0 && r.cut.owned_by_w1 > 0;

export function confirmTable(result: ConfirmResult | { skipped: string } | { error: string }): string {
  if ('skipped' in result) return `confirmation: skipped: ${result.skipped}`;
  if ('error' in result) return `confirmation: FAILED TO RUN: ${result.error}`;
  const runs = result.runs;
  const rows: Array<[string, (r: ConfirmRunResult) => string] | string> = [
    ['settled (spread, all REACHABLE) after start', (r) => `${fmt(r.settle_seconds, 0)} s`],
    ['monitors per worker w1 / w2 / w3', (r) => Object.values(r.owned).join(' / ')],
    `${CUT(result)} cut from w1's namespace only`,
    ['  cut VIMs owned by w1', (r) => `${r.cut.owned_by_w1} of ${r.cut.vims}`],
    ['  window', (r) => `${fmt(r.cut.window_s, 0)} s`],
    [
      '  false UNREACHABLE',
      (r) => `${r.cut.false_unreachable}${r.config.confirm ? (passes(r) ? '  PASS' : '  FAIL') : ''}`,
    ],
    ['    of them owned by w1', (r) => String(r.cut.false_unreachable_owned_by_w1)],
    ['    first / last seen after the cut', (r) => (r.cut.first_false_s === null ? '—' : `${fmt(r.cut.first_false_s, 1)} / ${fmt(r.cut.last_false_s, 1)} s`)],
    ['    cleared after the cut was removed', (r) => (r.cut.false_unreachable === 0 ? '—' : `${fmt(r.cut.cleared_s, 1)} s`)],
    'then a share really down for every worker (port closed)',
    ['  VIMs down (owned by w1)', (r) => `${r.real_down.vims} (${r.real_down.owned_by_w1})`],
    ['  detection p50 / p95 / max', (r) => `${fmt(r.real_down.p50_s, 1)} / ${fmt(r.real_down.p95_s, 1)} / ${fmt(r.real_down.max_s, 1)} s`],
    ['  detected / bound', (r) => `${r.real_down.observed}/${r.real_down.vims}, ≤ ${r.real_down.bound_s} s`],
    ['  max by owner w1 / w2 / w3', (r) => Object.values(r.real_down.by_owner).map((o) => fmt(o.max_s, 1)).join(' / ') + ' s'],
    ['  other VIMs newly UNREACHABLE', (r) => String(r.real_down.other_new_unreachable)],
    ['  all REACHABLE again after', (r) => `${fmt(r.recovered_s, 1)} s`],
    'cost over both steps',
    ['  worker CPU % of one core w1 / w2 / w3', (r) => Object.values(r.worker_cpu_percent).map((v) => fmt(v, 1)).join(' / ')],
    ['  oldest heartbeat seen w1 / w2 / w3', (r) => Object.values(r.heartbeat_age_max_s).map((v) => fmt(v, 1)).join(' / ') + ' s'],
    ['  worker peak RSS MB w1 / w2 / w3', (r) => Object.values(r.worker_peak_rss_mb).map((v) => fmt(v, 0)).join(' / ')],
    ['  PostgreSQL commits/s (this database)', (r) => fmt(r.pg?.xact_commit_per_s, 0)],
    ['  target server / other processes CPU %', (r) => `${fmt(r.target_server_cpu_percent, 1)} / ${fmt(r.other_processes_cpu_percent, 1)}`],
    ['  machine CPU % (200 = both cores)', (r) => fmt(r.machine_cpu_percent, 0)],
    ['  load average 1 min, start → end', (r) => `${fmt(r.load_average.start[0], 2)} → ${fmt(r.load_average.end[0], 2)}`],
  ];
  const labelWidth = Math.max(...rows.map((row) => (typeof row === 'string' ? 0 : row[0].length)));
  const cells = rows.map((row) => (typeof row === 'string' ? [] : runs.map(row[1])));
  const widths = runs.map((r, i) => Math.max(r.config.name.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (label: string, values: string[]) => `${label.padEnd(labelWidth)}  ${values.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ')}`.trimEnd();
  const s = result.settings;
  return [
    `confirmation: 3 × vim-monitor worker (w1 zone a in namespace ${result.net.namespace}, w2 zone b, w3 zone c) + an API-only serve, PostgreSQL; ${result.vims.toLocaleString('en-US')} VIMs, probes ${result.probes}, interval ${s.interval} s, timeout ${s.timeout} s, failure_threshold ${s.failure_threshold}; confirm count ${s.confirm_count}, quorum ${s.confirm_quorum}, deadline ${s.confirm_deadline_s} s; registration ${fmt(result.registration_seconds, 1)} s`,
    '',
    line('', runs.map((r) => r.config.name)),
    ...rows.map((row, i) => (typeof row === 'string' ? row : line(row[0], cells[i]!))),
    ...result.errors.map((e) => `${e.config}: FAILED TO RUN: ${e.error}`),
  ].join('\n');
}

const CUT = (result: ConfirmResult) => `${result.net.cut_addresses} of ${result.net.target_addresses} addresses (30 % of the VIMs)`;
