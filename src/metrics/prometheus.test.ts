import perfHooks from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';
import { expectPromtoolAccepts, parseExposition, samplesOf, valueOf, type Sample } from '../../test/support/promtool.js';
import { PROBE_NAMES, type ProbeName } from '../probes/probe.js';
import { CHECK_LATENCY_BUCKETS, DEEP_RUN_DURATION_BUCKETS, EVENT_LOOP_SAMPLE_MS, PrometheusMetrics } from './prometheus.js';

async function scrape(metrics: PrometheusMetrics): Promise<Sample[]> {
  return parseExposition(await metrics.expose());
}

/** Deterministic pseudo-random numbers in [0, 1), so a failure can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/**
 * What the check metrics must show, worked out the plain way: every check
 * counted, every measured latency kept, each VIM's latest one per probe.
 */
class CheckModel {
  readonly checks = new Map<string, number>();
  readonly latencies = new Map<ProbeName, number[]>();
  readonly latest = new Map<string, number>();

  probeChecked(vimId: string, probe: ProbeName, ok: boolean, latencyMs: number | undefined): void {
    const key = `${probe} ${ok ? 'ok' : 'fail'}`;
    this.checks.set(key, (this.checks.get(key) ?? 0) + 1);
    if (latencyMs === undefined || !Number.isFinite(latencyMs)) {
      this.latest.delete(`${vimId} ${probe}`);
      return;
    }
    this.latest.set(`${vimId} ${probe}`, latencyMs / 1000);
    const measured = this.latencies.get(probe) ?? [];
    measured.push(latencyMs / 1000);
    this.latencies.set(probe, measured);
  }

  vimForgotten(vimId: string): void {
    for (const probe of PROBE_NAMES) this.latest.delete(`${vimId} ${probe}`);
  }

  /** The samples of checks_total, probe_latency_seconds and check_latency_seconds, sorted like checkSamples sorts. */
  samples(): Sample[] {
    const samples: Sample[] = [];
    for (const probe of PROBE_NAMES) {
      for (const result of ['ok', 'fail']) {
        samples.push({ name: 'vim_monitor_checks_total', labels: { probe, result }, value: this.checks.get(`${probe} ${result}`) ?? 0 });
      }
    }
    for (const [key, value] of this.latest) {
      const [vimId = '', probe = ''] = key.split(' ');
      samples.push({ name: 'vim_monitor_probe_latency_seconds', labels: { vim_id: vimId, probe }, value });
    }
    for (const [probe, values] of this.latencies) {
      const name = 'vim_monitor_check_latency_seconds';
      for (const bound of CHECK_LATENCY_BUCKETS) {
        samples.push({ name: `${name}_bucket`, labels: { probe, le: String(bound) }, value: values.filter((value) => value <= bound).length });
      }
      samples.push({ name: `${name}_bucket`, labels: { probe, le: '+Inf' }, value: values.length });
      // Added in the order the checks came, as an observing histogram adds them: the very same float.
      samples.push({ name: `${name}_sum`, labels: { probe }, value: values.reduce((sum, value) => sum + value, 0) });
      samples.push({ name: `${name}_count`, labels: { probe }, value: values.length });
    }
    return sortSamples(samples);
  }
}

function sortSamples(samples: Sample[]): Sample[] {
  const key = (sample: Sample) => `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
  return [...samples].sort((a, b) => key(a).localeCompare(key(b)));
}

/** The samples of the check metrics in a scrape, sorted: the order of series within a metric carries no meaning. */
function checkSamples(samples: Sample[]): Sample[] {
  const names = ['vim_monitor_checks_total', 'vim_monitor_probe_latency_seconds', 'vim_monitor_check_latency_seconds_'];
  return sortSamples(samples.filter((sample) => names.some((name) => sample.name.startsWith(name))));
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

  it('shows each condition of a VIM as one series per type (1 True, 0 False, -1 Unknown) and its health, dropping a type that went away', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const at = '2026-11-30 10:00:00.000000';
    const network = { type: 'NetworkReachable', layer: 'network', severity: 'error', reason: 'tcp: connection refused', since: at, last_checked: at } as const;
    const identity = { type: 'IdentityAPI', layer: 'identity', severity: 'error', reason: 'not checked: network failed', since: at, last_checked: at } as const;
    const compute = { type: 'Service:compute', layer: 'services', severity: 'warning', reason: 'HTTP 503', since: at, last_checked: at } as const;
    metrics.conditionsChanged('vim-a', [{ ...network, status: 'False' }, { ...identity, status: 'Unknown' }, { ...compute, status: 'True' }]);
    let samples = await scrape(metrics);
    expect(samplesOf(samples, 'vim_monitor_vim_condition', { vim_id: 'vim-a' }).map((s) => [s.labels.type, s.value]).sort()).toEqual([
      ['IdentityAPI', -1],
      ['NetworkReachable', 0],
      ['Service:compute', 1],
    ]);
    expect(valueOf(samples, 'vim_monitor_vim_health', { vim_id: 'vim-a' })).toBe(2);
    // Reasons are free text: never a label.
    expect(await metrics.expose()).not.toContain('connection refused');

    metrics.conditionsChanged('vim-a', [{ ...network, status: 'True' }, { ...compute, status: 'False' }]);
    samples = await scrape(metrics);
    expect(samplesOf(samples, 'vim_monitor_vim_condition', { vim_id: 'vim-a' }).map((s) => s.labels.type).sort()).toEqual(['NetworkReachable', 'Service:compute']);
    expect(valueOf(samples, 'vim_monitor_vim_health', { vim_id: 'vim-a' })).toBe(1);

    metrics.vimForgotten('vim-a');
    expect(await metrics.expose()).not.toContain('vim-a');
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

  it("exposes, at every scrape among thousands of checks, their exact counts, each VIM's latest latency per probe and the histogram of every latency measured", async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const model = new CheckModel();
    const random = seededRandom(20240611);
    const vimIds = Array.from({ length: 40 }, (_, n) => `vim-${n}`);
    // Bucket bounds exactly, sub-bucket and beyond the last bucket (> 10 s), and checks that measured nothing.
    const latencyOf = (draw: number): number | undefined => {
      if (draw < 0.08) return undefined;
      if (draw < 0.09) return Number.NaN;
      if (draw < 0.1) return Infinity;
      if (draw < 0.2) return (CHECK_LATENCY_BUCKETS[Math.floor(random() * CHECK_LATENCY_BUCKETS.length)] ?? 1) * 1000;
      if (draw < 0.22) return 10_000 + random() * 20_000;
      return random() * (draw < 0.9 ? 50 : 3_000);
    };
    let scrapes = 0;
    for (let n = 1; n <= 20_000; n += 1) {
      const vimId = vimIds[Math.floor(random() * vimIds.length)] ?? 'vim-0';
      // icmp and tcp only at first, so the api and auth histograms appear mid-way, as with an observing histogram.
      const probe = PROBE_NAMES[Math.floor(random() * (n < 5_000 ? 2 : PROBE_NAMES.length))] ?? 'icmp';
      const draw = random();
      const latencyMs = latencyOf(draw);
      metrics.probeChecked(vimId, probe, draw > 0.15, latencyMs);
      model.probeChecked(vimId, probe, draw > 0.15, latencyMs);
      if (n % 3_001 === 0) {
        // Some forgotten VIMs had series at the last scrape, others came back since.
        const gone = vimIds[n % vimIds.length] ?? 'vim-0';
        metrics.vimForgotten(gone);
        model.vimForgotten(gone);
      }
      if (n % 2_500 === 0) {
        expect(checkSamples(await scrape(metrics)), `scrape after ${n} checks`).toEqual(model.samples());
        scrapes += 1;
      }
    }
    expect(scrapes).toBe(8);
    const samples = await scrape(metrics);
    // Not vacuous: every probe has latency series and a histogram, and some checks failed.
    for (const probe of PROBE_NAMES) {
      expect(samplesOf(samples, 'vim_monitor_probe_latency_seconds', { probe }).length, probe).toBeGreaterThan(0);
      expect(valueOf(samples, 'vim_monitor_check_latency_seconds_count', { probe }), probe).toBeGreaterThan(0);
      expect(valueOf(samples, 'vim_monitor_checks_total', { probe, result: 'fail' }), probe).toBeGreaterThan(0);
    }
    await expectPromtoolAccepts(await metrics.expose());
  });

  it('never lowers a count between scrapes, and counts nothing twice when scraped again without a check in between', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const counts = (samples: Sample[]) =>
      samples.filter((s) => s.name === 'vim_monitor_checks_total' || /^vim_monitor_check_latency_seconds_(bucket|count)$/.test(s.name));
    for (let n = 0; n < 1_000; n += 1) metrics.probeChecked(`vim-${n % 10}`, n % 2 === 0 ? 'icmp' : 'tcp', n % 5 !== 0, n % 7 === 0 ? undefined : n % 40);
    const first = counts(await scrape(metrics));
    expect(counts(await scrape(metrics))).toEqual(first);

    for (let n = 0; n < 600; n += 1) metrics.probeChecked(`vim-${n % 10}`, 'icmp', true, 3);
    metrics.vimForgotten('vim-3'); // forgetting a VIM keeps the counts its checks made
    const second = counts(await scrape(metrics));
    expect(second.map((s) => [s.name, s.labels])).toEqual(first.map((s) => [s.name, s.labels]));
    second.forEach((sample, index) => expect(sample.value, JSON.stringify(sample)).toBeGreaterThanOrEqual(first[index]?.value ?? Infinity));
    const icmpOk = { probe: 'icmp', result: 'ok' };
    expect(valueOf(second, 'vim_monitor_checks_total', icmpOk)).toBe((valueOf(first, 'vim_monitor_checks_total', icmpOk) ?? 0) + 600);
    expect(valueOf(second, 'vim_monitor_check_latency_seconds_count', { probe: 'icmp' })).toBe((valueOf(first, 'vim_monitor_check_latency_seconds_count', { probe: 'icmp' }) ?? 0) + 600);
    expect(counts(await scrape(metrics))).toEqual(second);
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

  it('counts deep runs by outcome from start-up at 0 and puts their durations in one unlabelled histogram up to 30 s', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    let samples = await scrape(metrics);
    expect(samplesOf(samples, 'vim_monitor_deep_runs_total').map((s) => [s.labels.outcome, s.value])).toEqual([
      ['completed', 0],
      ['timed_out', 0],
      ['failed', 0],
    ]);
    expect(valueOf(samples, 'vim_monitor_deep_run_duration_seconds_count')).toBe(0);

    metrics.deepRunFinished('completed', 0.2);
    metrics.deepRunFinished('completed', 1.5);
    metrics.deepRunFinished('timed_out', 30.001);
    metrics.deepRunFinished('failed', 0.004);
    metrics.deepRunFinished('completed', -0.5);
    samples = await scrape(metrics);
    expect(valueOf(samples, 'vim_monitor_deep_runs_total', { outcome: 'completed' })).toBe(3);
    expect(valueOf(samples, 'vim_monitor_deep_runs_total', { outcome: 'timed_out' })).toBe(1);
    expect(valueOf(samples, 'vim_monitor_deep_runs_total', { outcome: 'failed' })).toBe(1);
    const histogram = 'vim_monitor_deep_run_duration_seconds';
    expect(DEEP_RUN_DURATION_BUCKETS.at(-1)).toBe(30);
    // No vim_id, no outcome: one series per bucket, whatever the number of VIMs.
    expect(samplesOf(samples, `${histogram}_bucket`).every((s) => Object.keys(s.labels).join() === 'le')).toBe(true);
    expect(samplesOf(samples, `${histogram}_bucket`)).toHaveLength(DEEP_RUN_DURATION_BUCKETS.length + 1);
    expect(valueOf(samples, `${histogram}_count`)).toBe(5);
    // The negative duration (a clock stepped back) counts as 0.
    expect(valueOf(samples, `${histogram}_sum`)).toBeCloseTo(0.2 + 1.5 + 30.001 + 0.004, 9);
    expect(valueOf(samples, `${histogram}_bucket`, { le: '0.01' })).toBe(2);
    expect(valueOf(samples, `${histogram}_bucket`, { le: '0.25' })).toBe(3);
    expect(valueOf(samples, `${histogram}_bucket`, { le: '2.5' })).toBe(4);
    expect(valueOf(samples, `${histogram}_bucket`, { le: '30' })).toBe(4);
    expect(valueOf(samples, `${histogram}_bucket`, { le: '+Inf' })).toBe(5);
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

  it('samples the event loop delay twice a second, not 100 times (prom-client\'s default wakes an idle service for nothing)', () => {
    const monitor = vi.spyOn(perfHooks, 'monitorEventLoopDelay');
    try {
      new PrometheusMetrics();
      expect(monitor).toHaveBeenCalledWith({ resolution: EVENT_LOOP_SAMPLE_MS });
      expect(EVENT_LOOP_SAMPLE_MS).toBe(500);
    } finally {
      monitor.mockRestore();
    }
  });

  it('produces an exposition, every metric populated, that promtool check metrics accepts without a lint problem', async () => {
    const metrics = new PrometheusMetrics();
    metrics.statusChanged('0b5a2c1e-0000-4000-8000-000000000001', 'REACHABLE');
    metrics.probeChecked('0b5a2c1e-0000-4000-8000-000000000001', 'icmp', true, 0.2);
    metrics.probeChecked('0b5a2c1e-0000-4000-8000-000000000001', 'api', false, 3000);
    const at = '2026-11-30 10:00:00.000000';
    metrics.conditionsChanged('0b5a2c1e-0000-4000-8000-000000000001', [
      { type: 'NetworkReachable', layer: 'network', status: 'True', severity: 'error', reason: 'icmp ok', since: at, last_checked: at },
      { type: 'Service:compute', layer: 'services', status: 'False', severity: 'warning', reason: 'HTTP 503', since: at, last_checked: at },
    ]);
    metrics.monitorsOwned(1);
    metrics.monitorReplaced();
    metrics.monitorsTakenOver(1);
    metrics.outbox(1, 0.5);
    metrics.deepRunFinished('completed', 2.5);
    metrics.deepRunFinished('timed_out', 30);
    metrics.httpRequest('POST', '/v1.0/vims', 201, 0.02);
    await expectPromtoolAccepts(await metrics.expose());
  });
});
