/** The dashboard phase's table (see dashboard-run.ts). */
import type { DashboardResult } from './dashboard-run.js';
import { fmt } from './util.js';

export function dashboardTable(r: DashboardResult): string {
  const l = r.live;
  const f = r.first_render;
  const c = l.check;
  const row = (label: string, value: string) => `  ${label.padEnd(60)}${value}`;
  const range = (x: { start: number | null; peak: number | null; end: number | null }, unit = ' MB') => `${fmt(x.start, 1)} / ${fmt(x.peak, 1)} / ${fmt(x.end, 1)}${unit}`;
  const runs = f.runs.map((run) => `${run.dom_ms}`).join(', ');
  const list = f.runs.map((run) => run.vim_list_request?.duration_ms).filter((d): d is number => d !== undefined);
  const first = f.runs[0];
  return [
    `dashboard: ${r.vims.toLocaleString('en-US')} VIMs, one vim-monitor serve (noauth, SQLite, probes ${r.setup.probes}, interval ${r.setup.monitor.interval} s), Chromium ${r.chromium} headless at ${r.viewport.width}×${r.viewport.height}`,
    row(`first render of the overview, ${f.runs.length} cold runs (ms)`, `median / max  (load average ${r.load_1m.cold_runs.join(', ')})`),
    row('  navigation → rows and total count in the DOM', `${fmt(f.dom_ms.median, 0)} / ${fmt(f.dom_ms.max, 0)} ms  (${runs})`),
    row('  navigation → next frame painted', `${fmt(f.painted_ms.median, 0)} / ${fmt(f.painted_ms.max, 0)} ms`),
    row('  page.goto → condition seen by the benchmark', `${fmt(f.wall_ms.median, 0)} / ${fmt(f.wall_ms.max, 0)} ms`),
    row(`  GET /v1.0/vims (${r.vims.toLocaleString('en-US')} rows) duration, median`, `${fmt(list.sort((a, b) => a - b)[Math.floor(list.length / 2)], 0)} ms, ${fmt(first?.vim_list_request?.transfer_kb, 0)} kB transferred (${fmt(first?.vim_list_request?.decoded_kb, 0)} kB JSON)`),
    row('  first contentful paint / DOMContentLoaded (run 1)', `${fmt(first?.first_contentful_paint_ms, 0)} / ${fmt(first?.navigation?.dom_content_loaded_ms, 0)} ms`),
    row('  JS heap used after first render / DOM nodes (run 1)', `${fmt(first?.js_heap_used_mb, 1)} MB / ${first?.dom_nodes ?? '—'}`),
    row(`live updates, ${fmt(l.minutes, 1)} min`, `${l.source.split(';')[0]}`),
    row('  load average (1 min) start / max / end', `${r.load_1m.live.start} / ${r.load_1m.live.max} / ${r.load_1m.live.end}`),
    row('  status changes in the window (SSE) / per minute', `${l.changes_in_window} / ${l.changes_per_minute} (paced ${l.paced_changes_per_minute}); by minute ${l.changes_by_minute.join(', ')}`),
    row('  JS heap used start / peak / end', range(l.js_heap_used_mb)),
    row('  JS heap used after a forced GC, start → end', `${fmt(l.js_heap_used_mb.start_after_gc, 1)} → ${fmt(l.js_heap_used_mb.end_after_gc, 1)} MB`),
    row('  renderer RSS start / peak / end', range(l.renderer_rss_mb)),
    row('  renderer PSS start / peak / end', range(l.renderer_pss_mb)),
    row('  all Chromium processes PSS start / peak / end', range(l.chromium_total_pss_mb)),
    row('  DOM nodes start → end', `${l.dom_nodes.start} → ${l.dom_nodes.end}`),
    row('  service RSS start / peak / end; CPU in the window', `${range({ start: l.service.rss_mb_start, peak: l.service.rss_mb_peak, end: l.service.rss_mb_end })}; ${fmt(l.service.cpu_percent, 1)} % of a core`),
    row('  UNREACHABLE at the end: store / page', `${c.store_unreachable} / ${c.page_unreachable ?? '—'}  ${c.matches ? 'MATCH' : 'MISMATCH'} (REACHABLE ${c.store_reachable} / ${c.page_reachable ?? '—'}, total on page ${c.page_total ?? '—'})`),
    row('  page stayed live, reloads, page errors', `${l.page_stayed_live ? 'yes' : 'NO'}, ${l.reloads}, ${l.page_problems.length}`),
  ].join('\n');
}
