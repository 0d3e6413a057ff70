import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { deriveHealth } from '../health/assess.js';
import type { Condition, ConditionStatus, Health } from '../health/condition.js';
import { PROBE_NAMES, type ProbeName } from '../probes/probe.js';
import { BACKGROUND_ERROR_KINDS, BACKGROUND_TASKS, type BackgroundErrorKind, type BackgroundTask } from '../time/background-errors.js';
import type { VimStatus } from '../vims/model.js';
import { HISTORY_PRUNE_KINDS, type HistoryPruneKind } from '../history/retention.js';
import { TalliedHistogram } from './tallied-histogram.js';
import { DEEP_RUN_OUTCOMES, type DeepRunOutcome, type MetricsRecorder } from './recorder.js';
import { noLatencies, perVimExposition, VimSeries } from './vim-series.js';

/** Every metric name starts with this, the default Node.js process metrics included. */
export const METRIC_PREFIX = 'vim_monitor_';

/** Probe latencies: from a LAN ping (sub-millisecond) to a slow Keystone near the 3 s default timeout. */
export const CHECK_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** API requests: mostly a few milliseconds against the database, up to Keystone's 10 s timeout. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Deep runs: a few checks of one VIM in parallel, from tens of milliseconds up to their 30 s deadline cap (src/monitors/deep-runs.ts). */
export const DEEP_RUN_DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

/** HTTP methods kept as label values; anything else is counted as `other`, so a client cannot invent label values. */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Route label of requests that matched no route (404): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * prom-client's default metrics include three gauges named `*_total`
 * (`nodejs_active_{handles,requests,resources}_total`), which `promtool check
 * metrics` rejects: only counters may end in `_total`. They are the sums of the
 * by-type gauges `nodejs_active_{handles,requests,resources}{type}`, which stay.
 */
const DEFAULT_METRICS_DROPPED = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * How often the event loop delay behind `nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds` is
 * sampled. Every sample is a wake-up of the process, and on a virtual machine like this project's one costs
 * 50-200 µs of CPU: prom-client's 10 ms default was about 0.65 % of a core on a service with nothing to do, 100 ms
 * still a tenth of a point, as much as a check of 10 VIMs (issue 13). At 500 ms any stall of 500 ms or more is still
 * seen, shorter ones in proportion to their length, and a 15 s scrape interval still gets 30 samples.
 */
export const EVENT_LOOP_SAMPLE_MS = 500;

/** The check results of checks_total, in the order their series are exposed. */
const CHECK_RESULTS = ['ok', 'fail'] as const;

/**
 * The checks of one probe, counted in plain numbers: the hot path (about
 * 1,000 checks per second at 10,000 VIMs) must not pay for prom-client's
 * label validation and hashing, so checks_total is written from these at
 * scrape time.
 */
class ProbeTally {
  ok = 0;
  fail = 0;

  constructor(
    /** Position of the probe in PROBE_NAMES, hence in each VIM's latencies. */
    readonly index: number,
  ) {}
}

export interface PrometheusMetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop, GC), prefixed `vim_monitor_`. Default true. */
  defaultMetrics?: boolean;
}

const CONDITION_VALUE: Record<ConditionStatus, number> = { True: 1, False: 0, Unknown: -1 };
const HEALTH_VALUE: Record<Health, number> = { OK: 0, DEGRADED: 1, DOWN: 2 };

/**
 * The Prometheus implementation of MetricsRecorder, plus HTTP request metrics
 * for the API. One per process, on its own registry (never prom-client's
 * global one), so several services can share a process in tests.
 *
 * Cardinality: per VIM, one status series per status, one series per
 * condition type, one health series and at most one latency series per
 * probe; everything else is labelled only by fixed sets (probe names,
 * results, HTTP methods, route patterns, status codes). docs/metrics.md
 * lists them.
 *
 * The hot path (about 1,000 checks per second at 10,000 VIMs) writes plain
 * numbers only; prom-client sees them when the registry reads each metric:
 * checks_total through its collect() hook, check_latency_seconds as a
 * TalliedHistogram. The per-VIM series (status, conditions, health,
 * latencies) never go through prom-client: they are written as text from
 * one VimSeries per VIM at scrape time (perVimExposition).
 */
export class PrometheusMetrics implements MetricsRecorder {
  readonly registry = new Registry();
  /** Per VIM, what its series are written from at scrape time. */
  private readonly vims = new Map<string, VimSeries>();
  /** Per probe (keyed by name), what checks_total and check_latency_seconds are written from at scrape time. */
  private readonly tallies: Readonly<Record<ProbeName, ProbeTally>>;
  private readonly checkLatency: TalliedHistogram<'probe'>;
  private readonly checks: Counter<'probe' | 'result'>;
  private readonly owned: Gauge;
  private readonly replacements: Counter;
  private readonly withheld: Counter;
  private readonly takeovers: Counter;
  private readonly outboxDepth: Gauge;
  private readonly outboxLag: Gauge;
  private readonly vimsHeldGauge: Gauge<'hold'>;
  private readonly backgroundErrors: Counter<'task' | 'kind'>;
  private readonly deepRuns: Counter<'outcome'>;
  private readonly deepRunDuration: Histogram;
  private readonly historyPrunedCounter: Counter<'kind'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(options: PrometheusMetricsOptions = {}) {
    this.tallies = Object.fromEntries(PROBE_NAMES.map((probe, index) => [probe, new ProbeTally(index)])) as Record<ProbeName, ProbeTally>;
    const registers = [this.registry];
    const name = (suffix: string) => METRIC_PREFIX + suffix;

    this.checkLatency = new TalliedHistogram('probe', PROBE_NAMES, {
      name: name('check_latency_seconds'),
      help: 'Latency measured by probe checks of all VIMs, by probe.',
      buckets: CHECK_LATENCY_BUCKETS,
      registers,
    });
    this.checks = new Counter({
      name: name('checks_total'),
      help: 'Probe checks run by this process, by probe and result (ok or fail).',
      labelNames: ['probe', 'result'],
      registers,
      collect: () => this.writeChecks(),
    });
    this.owned = new Gauge({
      name: name('monitors_owned'),
      help: 'Monitors this worker process runs (its leased share), as of its last heartbeat.',
      registers,
    });
    this.replacements = new Counter({
      name: name('monitor_replacements_total'),
      help: 'Monitors forcibly deleted by the sweep because they stopped processing, and replaced.',
      registers,
    });
    this.withheld = new Counter({
      name: name('monitor_replacements_withheld_total'),
      help: 'Sweeps that found more monitors stuck than manager.failover_threshold and replaced none (the process was overloaded).',
      registers,
    });
    this.takeovers = new Counter({
      name: name('monitor_takeovers_total'),
      help: 'Monitors this process claimed after start-up: lapsed leases of dead workers, or free rows when rebalancing.',
      registers,
    });
    this.outboxDepth = new Gauge({
      name: name('outbox_depth'),
      help: 'Events waiting in the outbox for delivery.',
      registers,
    });
    this.outboxLag = new Gauge({
      name: name('outbox_lag_seconds'),
      help: 'Age of the oldest event waiting in the outbox (0 when it is empty).',
      registers,
    });
    this.vimsHeldGauge = new Gauge({
      name: name('vims_held'),
      help: "VIMs watched by this process whose notifications are held now, by hold (maintenance: in a maintenance window; flapping).",
      labelNames: ['hold'],
      registers,
    });
    for (const hold of ['maintenance', 'flapping']) this.vimsHeldGauge.set({ hold }, 0);
    this.backgroundErrors = new Counter({
      name: name('background_errors_total'),
      help: 'Failed passes of background loops, by task and kind (outage: database unavailable; unexpected: anything else, logged at error).',
      labelNames: ['task', 'kind'],
      registers,
    });
    // Every series from start-up, at 0: an alert on increase() must have a series before the first failure.
    for (const task of BACKGROUND_TASKS) for (const kind of BACKGROUND_ERROR_KINDS) this.backgroundErrors.inc({ task, kind }, 0);
    this.deepRuns = new Counter({
      name: name('deep_runs_total'),
      help: 'Deep runs (the deep checks of one VIM) ended on this process, by outcome (completed, timed_out: cut by the deadline, failed: a check rejected).',
      labelNames: ['outcome'],
      registers,
    });
    // Every outcome from start-up, at 0, like background_errors_total.
    for (const outcome of DEEP_RUN_OUTCOMES) this.deepRuns.inc({ outcome }, 0);
    this.deepRunDuration = new Histogram({
      name: name('deep_run_duration_seconds'),
      help: 'Time from the start of a deep run to its end (whatever the outcome), all VIMs of this process together.',
      buckets: DEEP_RUN_DURATION_BUCKETS,
      registers,
    });
    this.historyPrunedCounter = new Counter({
      name: name('history_pruned_total'),
      help: 'Rows removed by the retention job of this process (issue 12), by kind (events: vim_events rows; hours: days whose hourly detail was dropped; days: vim_history rows deleted).',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of HISTORY_PRUNE_KINDS) this.historyPrunedCounter.inc({ kind }, 0);
    this.httpRequests = new Counter({
      name: name('http_requests_total'),
      help: 'API requests answered, by method, route pattern and status code (scrapes of /metrics excluded).',
      labelNames: ['method', 'route', 'status_code'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: name('http_request_duration_seconds'),
      help: 'Time to answer API requests, by method, route pattern and status code (scrapes of /metrics excluded).',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    });

    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
      for (const dropped of DEFAULT_METRICS_DROPPED) this.registry.removeSingleMetric(METRIC_PREFIX + dropped);
    }
  }

  probeChecked(vimId: string, probe: ProbeName, ok: boolean, latencyMs: number | undefined): void {
    const tally = this.tallies[probe];
    if (ok) tally.ok += 1;
    else tally.fail += 1;
    if (latencyMs === undefined || !Number.isFinite(latencyMs)) {
      const latencies = this.vims.get(vimId)?.latencies;
      if (latencies) latencies[tally.index] = Number.NaN;
      return;
    }
    const seconds = latencyMs / 1000;
    const vim = this.seriesOf(vimId);
    vim.latencies ??= noLatencies();
    vim.latencies[tally.index] = seconds;
    this.checkLatency.observeAt(tally.index, seconds);
  }

  statusChanged(vimId: string, status: VimStatus): void {
    this.seriesOf(vimId).status = status;
  }

  conditionsChanged(vimId: string, conditions: readonly Condition[]): void {
    const vim = this.seriesOf(vimId);
    vim.conditionTypes = conditions.map((condition) => condition.type);
    vim.conditionValues = conditions.map((condition) => CONDITION_VALUE[condition.status]);
    vim.health = HEALTH_VALUE[deriveHealth(conditions)];
  }

  vimForgotten(vimId: string): void {
    this.vims.delete(vimId);
  }

  monitorsOwned(count: number): void {
    this.owned.set(count);
  }

  monitorReplaced(): void {
    this.replacements.inc();
  }

  replacementsWithheld(): void {
    this.withheld.inc();
  }

  monitorsTakenOver(count: number): void {
    if (count > 0) this.takeovers.inc(count);
  }

  outbox(depth: number, oldestAgeSeconds: number): void {
    this.outboxDepth.set(depth);
    this.outboxLag.set(oldestAgeSeconds);
  }

  vimsHeld(counts: { maintenance: number; flapping: number }): void {
    this.vimsHeldGauge.set({ hold: 'maintenance' }, counts.maintenance);
    this.vimsHeldGauge.set({ hold: 'flapping' }, counts.flapping);
  }

  deepRunFinished(outcome: DeepRunOutcome, seconds: number): void {
    this.deepRuns.inc({ outcome });
    // A clock stepping back must not give a negative duration: it would lower the histogram's sum.
    if (Number.isFinite(seconds)) this.deepRunDuration.observe(Math.max(0, seconds));
  }

  historyPruned(kind: HistoryPruneKind, count: number): void {
    if (count > 0) this.historyPrunedCounter.inc({ kind }, count);
  }

  backgroundError(task: BackgroundTask, kind: BackgroundErrorKind): void {
    this.backgroundErrors.inc({ task, kind });
  }

  /**
   * One answered API request. `route` is the route pattern (`/v1.0/vims/:id`),
   * undefined when no route matched; the raw URL must never be passed.
   */
  httpRequest(method: string, route: string | undefined, statusCode: number, durationSeconds: number): void {
    const upper = method.toUpperCase();
    const labels = {
      method: HTTP_METHODS.has(upper) ? upper : 'other',
      route: route ?? UNMATCHED_ROUTE,
      status_code: String(statusCode),
    };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, durationSeconds);
  }

  /**
   * checks_total from the tallies. Rewritten whole (8 series) rather than by
   * deltas: the tallies only grow, so the counter never goes down, and every
   * probe/result pair is there from the first scrape, at 0, so rates and
   * alerts have a series before the first event.
   */
  private writeChecks(): void {
    this.checks.reset();
    for (const probe of PROBE_NAMES) {
      const tally = this.tallies[probe];
      for (const result of CHECK_RESULTS) this.checks.inc({ probe, result }, result === 'ok' ? tally.ok : tally.fail);
    }
  }

  private seriesOf(vimId: string): VimSeries {
    let vim = this.vims.get(vimId);
    if (vim === undefined) {
      vim = new VimSeries();
      this.vims.set(vimId, vim);
    }
    return vim;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The text exposition format (version 0.0.4) in chunks, as /metrics
   * streams it: prom-client's metrics, then the per-VIM gauges, written from
   * the VimSeries a slice of VIMs at a time (see perVimExposition).
   */
  async *exposition(): AsyncGenerator<string> {
    yield await this.registry.metrics();
    yield* perVimExposition(METRIC_PREFIX, this.vims);
  }

  /** The whole exposition as one string. */
  async expose(): Promise<string> {
    let text = '';
    for await (const chunk of this.exposition()) text += chunk;
    return text;
  }
}
