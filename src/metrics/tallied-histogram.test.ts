import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TalliedHistogram } from './tallied-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const PROBES = ['icmp', 'tcp', 'api', 'auth'] as const;

function pair(): { tallied: TalliedHistogram<'probe'>; plain: Histogram<'probe'>; talliedRegistry: Registry; plainRegistry: Registry } {
  const talliedRegistry = new Registry();
  const plainRegistry = new Registry();
  const configuration = { name: 'check_latency_seconds', help: 'Latency of checks, by probe.', buckets: BUCKETS };
  return {
    tallied: new TalliedHistogram('probe', PROBES, { ...configuration, registers: [talliedRegistry] }),
    plain: new Histogram({ ...configuration, labelNames: ['probe'], registers: [plainRegistry] }),
    talliedRegistry,
    plainRegistry,
  };
}

describe('TalliedHistogram', () => {
  it("writes, in both of prom-client's formats, what prom-client's own Histogram writes for the same observations", async () => {
    const { tallied, plain, talliedRegistry, plainRegistry } = pair();
    // Bounds themselves, values between, above the last bound; tcp first so the series order is that of first observations.
    const observations: Array<[number, number]> = [[1, 0.01], [0, 0.0005], [1, 0.2], [0, 0.001], [2, 5], [1, 0.0101], [0, 1], [2, 0.05]];
    for (const [index, value] of observations) {
      tallied.observeAt(index, value);
      plain.observe({ probe: PROBES[index] }, value);
    }
    expect(await talliedRegistry.metrics()).toBe(await plainRegistry.metrics());
    // Exemplars aside (prom-client writes exemplar: null where it keeps none; they are off here).
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map(({ values, ...rest }) => ({ ...rest, values: values.map((each) => ({ labels: each.labels, value: each.value, metricName: (each as { metricName?: string }).metricName })) }));
    expect(withoutExemplars(await talliedRegistry.getMetricsAsJSON())).toEqual(withoutExemplars(await plainRegistry.getMetricsAsJSON()));
    expect(await talliedRegistry.metrics()).toContain('check_latency_seconds_bucket{le="0.01",probe="tcp"} 1');
  });

  it('forgets every series when the registry resets its metrics', async () => {
    const { tallied, talliedRegistry } = pair();
    tallied.observeAt(3, 0.5);
    talliedRegistry.resetMetrics();
    expect(await talliedRegistry.metrics()).not.toContain('check_latency_seconds_count');
    tallied.observeAt(3, 0.5);
    expect(await talliedRegistry.metrics()).toContain('check_latency_seconds_count{probe="auth"} 1');
  });
});
