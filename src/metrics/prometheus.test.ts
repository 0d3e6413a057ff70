import { describe, expect, it } from 'vitest';
import { expectPromtoolAccepts, parseExposition, samplesOf, valueOf, type Sample } from '../../test/support/promtool.js';
import { PrometheusMetrics } from './prometheus.js';

async function scrape(metrics: PrometheusMetrics): Promise<Sample[]> {
  return parseExposition(await metrics.expose());
}

describe('the Prometheus metrics recorder', () => {
  it('shows the current status of a VIM as 1 and its two other statuses as 0', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    metrics.statusChanged('vim-a', 'REACHABLE');
    metrics.statusChanged('vim-a', 'UNREACHABLE');
    metrics.statusChanged('vim-b', 'PENDING');
    const samples = await scrape(metrics);
    expect(samplesOf(samples, 'vim_monitor_vim_status', { vim_id: 'vim-a' }).map((s) => [s.labels.status, s.value])).toEqual(
      expect.arrayContaining([
        ['PENDING', 0],
        ['REACHABLE', 0],
        ['UNREACHABLE', 1],
      ]),
    );
    expect(samplesOf(samples, 'vim_monitor_vim_status', { vim_id: 'vim-a' })).toHaveLength(3);
    expect(valueOf(samples, 'vim_monitor_vim_status', { vim_id: 'vim-b', status: 'PENDING' })).toBe(1);
    expect(valueOf(samples, 'vim_monitor_vim_status', { vim_id: 'vim-b', status: 'REACHABLE' })).toBe(0);
  });

  it("keeps each VIM's latest measured latency per probe in seconds, and drops it while the latest check measured none", async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    metrics.probeChecked('vim-a', 'icmp', true, 12);
    metrics.probeChecked('vim-a', 'icmp', true, 4.5);
    metrics.probeChecked('vim-a', 'api', false, 250);
    metrics.probeChecked('vim-b', 'icmp', true, 1);
    let samples = await scrape(metrics);
    expect(valueOf(samples, 'vim_monitor_probe_latency_seconds', { vim_id: 'vim-a', probe: 'icmp' })).toBeCloseTo(0.0045, 9);
    expect(valueOf(samples, 'vim_monitor_probe_latency_seconds', { vim_id: 'vim-a', probe: 'api' })).toBeCloseTo(0.25, 9);
    expect(valueOf(samples, 'vim_monitor_probe_latency_seconds', { vim_id: 'vim-b', probe: 'icmp' })).toBeCloseTo(0.001, 9);

    metrics.probeChecked('vim-a', 'icmp', false, undefined); // e.g. 100% packet loss: nothing measured
    samples = await scrape(metrics);
    expect(valueOf(samples, 'vim_monitor_probe_latency_seconds', { vim_id: 'vim-a', probe: 'icmp' })).toBeUndefined();
    expect(valueOf(samples, 'vim_monitor_probe_latency_seconds', { vim_id: 'vim-a', probe: 'api' })).toBeCloseTo(0.25, 9);
  });

  it('counts checks by probe and result and puts their latencies in a histogram labelled by probe only', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    metrics.probeChecked('vim-a', 'tcp', true, 2);
    metrics.probeChecked('vim-b', 'tcp', true, 30);
    metrics.probeChecked('vim-b', 'tcp', false, undefined);
    metrics.probeChecked('vim-c', 'auth', false, 700);
    const samples = await scrape(metrics);
    expect(valueOf(samples, 'vim_monitor_checks_total', { probe: 'tcp', result: 'ok' })).toBe(2);
    expect(valueOf(samples, 'vim_monitor_checks_total', { probe: 'tcp', result: 'fail' })).toBe(1);
    expect(valueOf(samples, 'vim_monitor_checks_total', { probe: 'auth', result: 'fail' })).toBe(1);
    // Every probe/result pair exists from the start, so rate() works before the first failure.
    expect(valueOf(samples, 'vim_monitor_checks_total', { probe: 'icmp', result: 'fail' })).toBe(0);
    expect(samplesOf(samples, 'vim_monitor_checks_total')).toHaveLength(8);

    expect(valueOf(samples, 'vim_monitor_check_latency_seconds_count', { probe: 'tcp' })).toBe(2);
    expect(valueOf(samples, 'vim_monitor_check_latency_seconds_sum', { probe: 'tcp' })).toBeCloseTo(0.032, 9);
    expect(valueOf(samples, 'vim_monitor_check_latency_seconds_bucket', { probe: 'tcp', le: '0.0025' })).toBe(1);
    expect(valueOf(samples, 'vim_monitor_check_latency_seconds_bucket', { probe: 'tcp', le: '0.05' })).toBe(2);
    expect(valueOf(samples, 'vim_monitor_check_latency_seconds_count', { probe: 'auth' })).toBe(1);
    expect(samples.filter((s) => s.name.startsWith('vim_monitor_check_latency_seconds') && 'vim_id' in s.labels)).toEqual([]);
  });

  it("removes every series of a forgotten VIM and leaves the other VIMs' series alone", async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    for (const vimId of ['gone', 'kept']) {
      metrics.statusChanged(vimId, 'REACHABLE');
      for (const probe of ['icmp', 'tcp', 'api', 'auth'] as const) metrics.probeChecked(vimId, probe, true, 3);
    }
    metrics.vimForgotten('gone');
    const text = await metrics.expose();
    expect(text).not.toContain('"gone"');
    const samples = parseExposition(text);
    expect(samples.filter((s) => s.labels.vim_id === 'kept')).toHaveLength(3 + 4);
    // Counts already made stay: the forgotten VIM's checks happened.
    expect(valueOf(samples, 'vim_monitor_checks_total', { probe: 'icmp', result: 'ok' })).toBe(2);
    // Forgetting a VIM never seen, or twice, is harmless.
    metrics.vimForgotten('gone');
    metrics.vimForgotten('never-seen');
    // A VIM watched again (e.g. its monitor came back to this worker) shows its status again, even the same one.
    metrics.statusChanged('gone', 'REACHABLE');
    expect(valueOf(await scrape(metrics), 'vim_monitor_vim_status', { vim_id: 'gone', status: 'REACHABLE' })).toBe(1);
  });

  it('reports monitors owned, replacements, takeovers and the outbox', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    metrics.monitorsOwned(7);
    metrics.monitorsOwned(5);
    metrics.monitorReplaced();
    metrics.monitorReplaced();
    metrics.monitorsTakenOver(3);
    metrics.monitorsTakenOver(0);
    metrics.monitorsTakenOver(4);
    metrics.outbox(12, 4.25);
    const samples = await scrape(metrics);
    expect(valueOf(samples, 'vim_monitor_monitors_owned')).toBe(5);
    expect(valueOf(samples, 'vim_monitor_monitor_replacements_total')).toBe(2);
    expect(valueOf(samples, 'vim_monitor_monitor_takeovers_total')).toBe(7);
    expect(valueOf(samples, 'vim_monitor_outbox_depth')).toBe(12);
    expect(valueOf(samples, 'vim_monitor_outbox_lag_seconds')).toBe(4.25);
  });

  it('labels HTTP requests by method, route pattern and status code, folding unknown methods and unmatched routes into fixed values', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    metrics.httpRequest('GET', '/v1.0/vims/:id', 200, 0.004);
    metrics.httpRequest('get', '/v1.0/vims/:id', 200, 0.3);
    metrics.httpRequest('PROPFIND', '/v1.0/vims', 404, 0.001);
    metrics.httpRequest('GET', undefined, 404, 0.001);
    const samples = await scrape(metrics);
    const byId = { method: 'GET', route: '/v1.0/vims/:id', status_code: '200' };
    expect(valueOf(samples, 'vim_monitor_http_requests_total', byId)).toBe(2);
    expect(valueOf(samples, 'vim_monitor_http_request_duration_seconds_count', byId)).toBe(2);
    expect(valueOf(samples, 'vim_monitor_http_request_duration_seconds_sum', byId)).toBeCloseTo(0.304, 9);
    expect(valueOf(samples, 'vim_monitor_http_request_duration_seconds_bucket', { ...byId, le: '0.005' })).toBe(1);
    expect(valueOf(samples, 'vim_monitor_http_requests_total', { method: 'other', route: '/v1.0/vims', status_code: '404' })).toBe(1);
    expect(valueOf(samples, 'vim_monitor_http_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(samplesOf(samples, 'vim_monitor_http_requests_total')).toHaveLength(3);
  });

  it('exposes the Node.js process metrics with the vim_monitor_ prefix', async () => {
    const metrics = new PrometheusMetrics();
    const samples = await scrape(metrics);
    const names = new Set(samples.map((s) => s.name));
    for (const name of [
      'vim_monitor_process_cpu_user_seconds_total',
      'vim_monitor_process_resident_memory_bytes',
      'vim_monitor_process_start_time_seconds',
      'vim_monitor_nodejs_heap_size_used_bytes',
      'vim_monitor_nodejs_eventloop_lag_seconds',
      'vim_monitor_nodejs_version_info',
    ]) {
      expect(names, name).toContain(name);
    }
    expect([...names].filter((name) => !name.startsWith('vim_monitor_'))).toEqual([]);
    // Gauges named like counters are dropped (promtool refuses them).
    expect([...names].filter((name) => /^vim_monitor_nodejs_active_\w+_total$/.test(name))).toEqual([]);
  });

  it('produces an exposition, every metric populated, that promtool check metrics accepts without a lint problem', async () => {
    const metrics = new PrometheusMetrics();
    metrics.statusChanged('0b5a2c1e-0000-4000-8000-000000000001', 'REACHABLE');
    metrics.probeChecked('0b5a2c1e-0000-4000-8000-000000000001', 'icmp', true, 0.2);
    metrics.probeChecked('0b5a2c1e-0000-4000-8000-000000000001', 'api', false, 3000);
    metrics.monitorsOwned(1);
    metrics.monitorReplaced();
    metrics.monitorsTakenOver(1);
    metrics.outbox(1, 0.5);
    metrics.httpRequest('POST', '/v1.0/vims', 201, 0.02);
    await expectPromtoolAccepts(await metrics.expose());
  });
});
