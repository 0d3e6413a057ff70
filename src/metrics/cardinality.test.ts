import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../test/support/promtool.js';
import type { Condition } from '../health/condition.js';
import { PROBE_NAMES } from '../probes/probe.js';
import { VIM_STATUSES } from '../vims/model.js';
import { HTTP_DURATION_BUCKETS, PrometheusMetrics } from './prometheus.js';

const vimIds = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `00000000-0000-4000-8000-${String(from + i).padStart(12, '0')}`);

const AT = '2026-11-30 10:00:00.000000';
/** The conditions the fast probes give (network, tls, identity, authentication) plus two catalog services: what a deep-checked VIM may carry. */
const CONDITIONS: Condition[] = (['NetworkReachable', 'CertificateValid', 'IdentityAPI', 'Authenticated', 'Service:compute', 'Service:network'] as const).map((type) => ({
  type,
  layer: 'network',
  status: 'True',
  severity: 'error',
  reason: 'ok',
  since: AT,
  last_checked: AT,
}));

/** A few rounds of one VIM: every probe, every status, failures with and without a latency, conditions changing. */
function watch(metrics: PrometheusMetrics, vimId: string, n: number): void {
  metrics.conditionsChanged(vimId, CONDITIONS.slice(0, 3));
  metrics.conditionsChanged(vimId, CONDITIONS.map((condition, i) => ({ ...condition, status: (n + i) % 3 === 0 ? 'False' : 'True', reason: `reason ${n}` })));
  for (const status of VIM_STATUSES) metrics.statusChanged(vimId, status);
  for (const probe of PROBE_NAMES) {
    metrics.probeChecked(vimId, probe, n % 3 !== 0, n % 7);
    metrics.probeChecked(vimId, probe, false, 2_900 + (n % 100));
  }
  metrics.statusChanged(vimId, n % 2 === 0 ? 'REACHABLE' : 'UNREACHABLE');
}

async function seriesCount(metrics: PrometheusMetrics): Promise<number> {
  return parseExposition(await metrics.expose()).length;
}

describe('the cardinality of the metrics', () => {
  it('grows linearly, by a small constant number of series per VIM, up to 2,000 VIMs, and forgotten VIMs leave no series', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    // Everything not per VIM, populated: histogram series of every probe, HTTP series, manager metrics.
    watch(metrics, 'warm-up', 1);
    metrics.vimForgotten('warm-up');
    metrics.httpRequest('GET', '/v1.0/vims/:id', 200, 0.01);
    metrics.monitorsOwned(1);
    const base = await seriesCount(metrics);

    const first = vimIds(0, 1_000);
    const second = vimIds(1_000, 2_000);
    first.forEach((id, n) => watch(metrics, id, n));
    const after1000 = await seriesCount(metrics);
    second.forEach((id, n) => watch(metrics, id, n));
    const after2000 = await seriesCount(metrics);

    const perVim = (after1000 - base) / 1_000;
    // 3 status series + one latency series per probe (4) + one series per condition type + one health series:
    // 7 + 6 + 1 per VIM here, whatever the VIM's history (reasons are never labels).
    expect(perVim).toBe(VIM_STATUSES.length + PROBE_NAMES.length + CONDITIONS.length + 1);
    expect(after2000 - after1000).toBe(1_000 * perVim);

    for (const id of [...first, ...second]) metrics.vimForgotten(id);
    const text = await metrics.expose();
    expect(parseExposition(text)).toHaveLength(base);
    expect(text).not.toMatch(/vim_id="/);
  });

  it('labels only the status, latency, condition and health gauges by VIM, never a counter or histogram', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    vimIds(0, 50).forEach((id, n) => watch(metrics, id, n));
    const text = await metrics.expose();
    // Histogram samples carry suffixes (_bucket, _sum, _count): a sample belongs to the family of the nearest TYPE line above it.
    const perVim = new Set<string>();
    let family = '';
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) family = `${type[1]} ${type[2]}`;
      else if (!line.startsWith('#') && line.includes('vim_id="')) perVim.add(family);
    }
    expect([...perVim].sort()).toEqual([
      'vim_monitor_probe_latency_seconds gauge',
      'vim_monitor_vim_condition gauge',
      'vim_monitor_vim_health gauge',
      'vim_monitor_vim_status gauge',
    ]);
  });

  it('keeps HTTP series bounded whatever URLs and methods clients send', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    metrics.httpRequest('GET', undefined, 404, 0.001);
    const before = await seriesCount(metrics);
    for (let i = 0; i < 2_000; i += 1) {
      // Unknown paths match no route; odd methods fold into `other`.
      metrics.httpRequest('GET', undefined, 404, 0.001);
      metrics.httpRequest(`X-METHOD-${i}`, undefined, 404, 0.001);
    }
    const series = parseExposition(await metrics.expose());
    // Exactly one more label set (method="other") than before, however many requests:
    // its counter, and its histogram's buckets, +Inf bucket, sum and count.
    expect(series.length - before).toBe(1 + HTTP_DURATION_BUCKETS.length + 3);
    expect(new Set(series.filter((s) => s.name === 'vim_monitor_http_requests_total').map((s) => s.labels.method))).toEqual(new Set(['GET', 'other']));
  });
});
