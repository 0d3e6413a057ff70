/** The scale phase's table: database load per second at each N, per 1,000 VIMs, and its growth with N. */
import type { ScaleResult } from './scale-run.js';
import { fmt } from './util.js';

export function scaleTable(result: ScaleResult): string {
  const lines: string[] = [];
  const s = result.settings;
  lines.push(
    `Scale (issue 13): N VIMs over ${result.runs[0]?.workers ?? '?'} workers on one PostgreSQL database, probes scripted (no packet sent), ` +
      `interval ${s.interval} s, thresholds ${s.failure_threshold}/${s.success_threshold}, leases ${s.lease_ttl}/${s.heartbeat_interval} s, pool ${s.pool_size} per process`,
  );
  const header = ['N', 'reg/s', 'settle s', 'tx/s', 'rows w/s', 'rows r/s', 'blks hit/s', 'blks rd/s', 'active %', 'PG CPU %', 'workers CPU %', 'workers RSS MB', 'changes/s exp', 'UNREACH end (exp)'];
  const rows = result.runs.map((r) => [
    r.vims.toLocaleString('en-US'),
    `${fmt(r.registration.vims_per_second, 0)}${r.registration.mode === 'copy' ? ' copy' : ' api'}`,
    `${fmt(r.settle_seconds, 0)}${r.balanced ? '' : ' unbal.'}`,
    fmt(r.db.per_second.xact_commit, 0),
    fmt(r.db.per_second.rows_written, 0),
    fmt(r.db.per_second.tup_fetched + r.db.per_second.tup_returned, 0),
    fmt(r.db.per_second.blks_hit, 0),
    fmt(r.db.per_second.blks_read, 1),
    fmt(r.db.active_percent, 1),
    fmt(r.db.backend_cpu_percent, 1),
    fmt(r.workers_cpu_percent.total, 1),
    fmt(r.workers_rss_mb.total, 0),
    fmt(r.expected_changes_per_second, 1),
    `${r.unreachable_at_end} (${r.expected_unreachable})`,
  ]);
  lines.push(...align([header, ...rows]));
  lines.push('');
  lines.push('per 1,000 VIMs:');
  const perHeader = ['N', 'tx/s', 'rows w/s', 'rows r/s', 'blks hit/s', 'active ms/s', 'PG CPU %'];
  const perRows = result.runs.map((r) => [
    r.vims.toLocaleString('en-US'),
    fmt(r.per_1000_vims.transactions_per_s, 2),
    fmt(r.per_1000_vims.rows_written_per_s, 2),
    fmt(r.per_1000_vims.rows_read_per_s, 1),
    fmt(r.per_1000_vims.blks_hit_per_s, 1),
    fmt(r.per_1000_vims.active_ms_per_s, 2),
    fmt(r.per_1000_vims.backend_cpu_percent, 3),
  ]);
  if (result.growth) {
    const g = result.growth;
    perRows.push(['growth ×', fmt(g.transactions_per_s, 2), fmt(g.rows_written_per_s, 2), fmt(g.rows_read_per_s, 2), fmt(g.blks_hit_per_s, 2), fmt(g.active_ms_per_s, 2), fmt(g.backend_cpu_percent, 2)]);
  }
  lines.push(...align([perHeader, ...perRows]));
  const largest = result.runs[result.runs.length - 1];
  if (largest) {
    lines.push('');
    lines.push(`rows written per second by table at N=${largest.vims.toLocaleString('en-US')} (insert/update/delete):`);
    for (const t of largest.db.tables.slice(0, 10)) {
      if (t.ins + t.upd + t.del === 0) continue;
      lines.push(`  ${t.table.padEnd(28)} ${fmt(t.ins, 1).padStart(9)} ${fmt(t.upd, 1).padStart(9)} ${fmt(t.del, 1).padStart(9)}`);
    }
  }
  const vacuum = result.runs[0]?.vacuum.every_s;
  lines.push(`reg/s: through the API (one POST each) or by copying the row of one API-registered VIM (bench/scale-register.ts); VACUUM ANALYZE ${vacuum ? `every ${vacuum} s` : 'never'} (autovacuum is off on this server)`);
  lines.push(`pg_stat_statements: ${result.pg_stat_statements}`);
  lines.push('PG CPU: the backends of the benchmark database (/proc); the server is shared with other work, so whole-server CPU is in the JSON only, as an upper bound.');
  // Sizes that failed are listed by main.ts with every other phase's errors.
  return lines.join('\n');
}

function align(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}
