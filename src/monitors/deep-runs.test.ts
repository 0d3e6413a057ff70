/**
 * How monitors run the deep checks: on their own interval, spread, one at a
 * time, within a deadline, only over layers the fast probes found up, and
 * never in the way of the fast rounds. The deep checks here are scripted
 * stand-ins (their drivers are tested in src/health/checks and, wired, in
 * test/e2e/layered-health.e2e.test.ts against real OpenStack services).
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openstackInput } from '../../test/support/fixtures.js';
import { ADMIN, startMonitoring, waitFor, type MonitoringHarness } from '../../test/support/monitoring.js';
import { probeTarget } from '../../test/support/probe-target.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import type { CapacityFigures, ConditionResult } from '../health/condition.js';
import type { DeepCheck, DeepCheckInput, DeepCheckReport } from '../health/deep-check.js';
import { DeepChecks } from '../health/deep-checks.js';
import { DEFAULT_HEALTH_SETTINGS } from '../health/settings.js';
import { NO_METRICS } from '../metrics/recorder.js';
import { systemClock } from '../time/clock.js';
import { DeepRuns } from './deep-runs.js';

/** A deep check whose answer the test sets; it counts runs and how many were in flight at once. */
class ScriptedDeepCheck implements DeepCheck {
  readonly name = 'scripted';
  runs = 0;
  inFlight = 0;
  maxInFlight = 0;
  hang = false;
  readonly forgotten: string[] = [];
  report: DeepCheckReport = { conditions: [] };

  async run({ signal }: DeepCheckInput): Promise<DeepCheckReport> {
    this.runs += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.hang) await new Promise<void>(() => undefined); // ignores even its deadline
      return this.report;
    } finally {
      if (!this.hang || signal.aborted) this.inFlight -= 1;
    }
  }

  forget(vimId: string): void {
    this.forgotten.push(vimId);
  }
}

const service = (type: string, status: ConditionResult['status'], severity: ConditionResult['severity']): ConditionResult => ({
  type: `Service:${type}`,
  layer: 'services',
  status,
  severity,
  reason: `${type} scripted`,
});

const fast = { interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 };

describe('deep runs of a monitor', () => {
  const harnesses: MonitoringHarness[] = [];
  afterEach(async () => {
    for (const harness of harnesses.splice(0)) await harness.stop().catch(() => undefined);
  });

  async function start(probe: ScriptedProbe, check: ScriptedDeepCheck) {
    const harness = await startMonitoring({ probes: [probe], settings: fast, deepChecks: new DeepChecks([[check]]), health: { deep_interval: 1 } });
    harnesses.push(harness);
    return harness;
  }

  it('runs no deep check while a fast probe fails, and starts them once the probes pass', async () => {
    const probe = new ScriptedProbe('tcp', 'fail');
    const check = new ScriptedDeepCheck();
    const harness = await start(probe, check);
    const vim = await harness.registry.create(ADMIN, openstackInput('lower-down'));
    await waitFor('UNREACHABLE', async () => ((await harness.registry.get(ADMIN, vim.id)).status === 'UNREACHABLE' ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(check.runs).toBe(0);
    probe.set(vim.id, 'ok');
    await waitFor('a deep run', () => (check.runs > 0 ? true : undefined), 3_000);
  });

  it('is UNREACHABLE naming a required service that fails, DEGRADED for a watched one, with capacity stored', async () => {
    const check = new ScriptedDeepCheck();
    const capacity: CapacityFigures = { resources: { VCPU: { total: 8, used: 2, free: 6 } }, checked_at: '2026-11-30 00:00:00.000000' };
    check.report = { conditions: [service('compute', 'False', 'warning')], capacity };
    const harness = await start(new ScriptedProbe('tcp'), check);
    const vim = await harness.registry.create(ADMIN, openstackInput('services'));
    const degraded = await waitFor('DEGRADED', async () => {
      const v = await harness.registry.get(ADMIN, vim.id);
      return v.health === 'DEGRADED' ? v : undefined;
    }, 4_000);
    expect(degraded.status).toBe('REACHABLE');
    await waitFor('capacity stored', async () => ((await harness.registry.get(ADMIN, vim.id)).capacity !== null ? true : undefined));
    expect((await harness.registry.get(ADMIN, vim.id)).capacity).toEqual(capacity);
    expect(harness.manager.monitorOf(vim.id)?.capacity).toEqual(capacity);

    check.report = { conditions: [service('compute', 'False', 'error')] };
    await waitFor('UNREACHABLE', async () => ((await harness.registry.get(ADMIN, vim.id)).status === 'UNREACHABLE' ? true : undefined), 4_000);
    const events = await harness.events.list({ vimIds: [vim.id], eventTypes: ['MONITOR'], limit: 10 });
    expect(events.at(-1)?.reason).toBe('failed: Service:compute: compute scripted');
    expect((await harness.registry.get(ADMIN, vim.id)).health).toBe('DOWN');
  });

  it('keeps the fast rounds on their interval and one deep run in flight while a deep check hangs, then shows it Unknown', async () => {
    const probe = new ScriptedProbe('tcp');
    const check = new ScriptedDeepCheck();
    check.report = { conditions: [service('image', 'True', 'info')] };
    const harness = await start(probe, check);
    const vim = await harness.registry.create(ADMIN, openstackInput('hanging'));
    await waitFor('Service:image', () => (harness.manager.monitorOf(vim.id)?.conditions.some((c) => c.type === 'Service:image') ? true : undefined), 3_000);
    check.hang = true;
    const runsBefore = check.runs;
    const callsBefore = probe.callsFor(vim.id);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // 3 s of 0.2 s rounds: the hanging deep checks delay none of them.
    expect(probe.callsFor(vim.id) - callsBefore).toBeGreaterThanOrEqual(12);
    // One deep run per 1 s deep interval at most, each given up at its 1 s deadline, never two at once.
    expect(check.runs - runsBefore).toBeLessThanOrEqual(3);
    expect(check.runs - runsBefore).toBeGreaterThanOrEqual(1);
    expect(harness.manager.monitorOf(vim.id)?.conditions.find((c) => c.type === 'Service:image')).toMatchObject({
      status: 'Unknown',
      reason: 'the scripted check did not finish by its deadline',
    });
  });

  it('tells the deep checks to forget a VIM that is updated or deleted', async () => {
    const check = new ScriptedDeepCheck();
    const harness = await start(new ScriptedProbe('tcp'), check);
    const vim = await harness.registry.create(ADMIN, openstackInput('forgotten'));
    await harness.registry.update(ADMIN, vim.id, { description: 'changed' });
    await harness.registry.delete(ADMIN, vim.id);
    expect(check.forgotten).toEqual([vim.id, vim.id]);
  });
});

describe('DeepRuns', () => {
  const target = probeTarget('openstack', 'http://127.0.0.1:9/v3');
  const settings = { ...DEFAULT_HEALTH_SETTINGS, deep_interval: 10 };
  const confirmAtOnce = { failure_threshold: 1, success_threshold: 1, retryAfterMs: 1_000 };

  it('spreads the first run over the deep interval, then runs every interval', async () => {
    const check = new ScriptedDeepCheck();
    const runs = new DeepRuns('vim', 'monitor', { clock: systemClock, logger: pino({ enabled: false }), random: () => 0.5, deepChecks: new DeepChecks([[check]]) }, { capacity: null, conditions: [] });
    runs.plan(1_000, settings);
    runs.startIfDue(target, settings, confirmAtOnce, 5_999);
    expect(check.runs).toBe(0);
    runs.startIfDue(target, settings, confirmAtOnce, 6_000);
    expect(check.runs).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    runs.startIfDue(target, settings, confirmAtOnce, 15_999);
    expect(check.runs).toBe(1);
    runs.startIfDue(target, settings, confirmAtOnce, 16_000);
    expect(check.runs).toBe(2);
  });

  it('books the next run from when it was due, so runs noticed late by a fast round do not drift', async () => {
    const check = new ScriptedDeepCheck();
    const runs = new DeepRuns('vim', 'monitor', { clock: systemClock, logger: pino({ enabled: false }), random: () => 0.5, deepChecks: new DeepChecks([[check]]) }, { capacity: null, conditions: [] });
    runs.plan(1_000, settings);
    runs.startIfDue(target, settings, confirmAtOnce, 6_900);
    await new Promise((resolve) => setTimeout(resolve, 10));
    runs.startIfDue(target, settings, confirmAtOnce, 15_999);
    expect(check.runs).toBe(1);
    runs.startIfDue(target, settings, confirmAtOnce, 16_000);
    expect(check.runs).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // More than an interval late (the VIM's lower layers were down meanwhile): a fresh start, no burst of runs.
    runs.startIfDue(target, settings, confirmAtOnce, 40_000);
    await new Promise((resolve) => setTimeout(resolve, 10));
    runs.startIfDue(target, settings, confirmAtOnce, 49_999);
    expect(check.runs).toBe(3);
  });

  it('checks a failure again after retryAfterMs, not a whole interval later, and shows it once failure_threshold runs confirm it', async () => {
    const check = new ScriptedDeepCheck();
    let nowMs = 0;
    const clock = { now: () => new Date(nowMs) };
    const runs = new DeepRuns('vim', 'monitor', { clock, logger: pino({ enabled: false }), random: () => 0, deepChecks: new DeepChecks([[check]]) }, { capacity: null, conditions: [] });
    const confirm = { failure_threshold: 2, success_threshold: 1, retryAfterMs: 1_000 };
    const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
    check.report = { conditions: [service('image', 'True', 'warning')] };
    runs.startIfDue(target, settings, confirm, nowMs);
    await settle();
    check.report = { conditions: [service('image', 'False', 'warning')] };
    nowMs = 10_000;
    runs.startIfDue(target, settings, confirm, nowMs);
    await settle();
    expect(runs.conditions()).toMatchObject([{ status: 'True', reason: 'image scripted (latest: image scripted; unconfirmed: 1 of 2 failed runs)' }]);
    // The latest failure still counts for status at once (it has its own threshold on rounds).
    expect(runs.requiredFailure()).toBe(false);
    nowMs = 10_999;
    runs.startIfDue(target, settings, confirm, nowMs);
    expect(check.runs).toBe(2);
    nowMs = 11_000;
    runs.startIfDue(target, settings, confirm, nowMs);
    expect(check.runs).toBe(3);
    await settle();
    expect(runs.conditions()).toMatchObject([{ status: 'False', reason: 'image scripted' }]);
    // Confirmed: back to the deep interval.
    runs.startIfDue(target, settings, confirm, 20_999);
    expect(check.runs).toBe(3);
  });

  it('shows the latest results at once when the status changes on them (confirmLatest), and the stored ones before the first run', async () => {
    const check = new ScriptedDeepCheck();
    const stored = [service('compute', 'True', 'error')];
    const runs = new DeepRuns('vim', 'monitor', { clock: systemClock, logger: pino({ enabled: false }), random: () => 0, deepChecks: new DeepChecks([[check]]) }, { capacity: null, conditions: stored });
    expect(runs.conditions()).toEqual(stored);
    check.report = { conditions: [service('compute', 'False', 'error')] };
    runs.startIfDue(target, settings, { failure_threshold: 3, success_threshold: 1, retryAfterMs: 1_000 }, 0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(runs.conditions()[0]!.status).toBe('True');
    expect(runs.requiredFailure()).toBe(true);
    runs.confirmLatest();
    expect(runs.conditions()).toEqual([service('compute', 'False', 'error')]);
  });

  it('counts each run in the metrics as completed or timed out, with its duration', async () => {
    const check = new ScriptedDeepCheck();
    const finished: Array<[string, number]> = [];
    const metrics = { ...NO_METRICS, deepRunFinished: (outcome: string, seconds: number) => finished.push([outcome, seconds]) };
    const runs = new DeepRuns('vim', 'monitor', { clock: systemClock, logger: pino({ enabled: false }), random: () => 0, deepChecks: new DeepChecks([[check]]), metrics }, { capacity: null, conditions: [] });
    const quick = { ...settings, deep_interval: 1 };
    runs.startIfDue(target, quick, confirmAtOnce, 0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    check.hang = true;
    runs.startIfDue(target, quick, confirmAtOnce, 1_000);
    await waitFor('the hanging run to be given up', () => (finished.length === 2 ? true : undefined), 3_000);
    expect(finished.map(([outcome]) => outcome)).toEqual(['completed', 'timed_out']);
    expect(finished[1]![1]).toBeGreaterThanOrEqual(0.9);
  });

  it('reports capacity only when the figures change, not every measurement', async () => {
    const check = new ScriptedDeepCheck();
    const reported: CapacityFigures[] = [];
    const runs = new DeepRuns('vim', 'monitor', { clock: systemClock, logger: pino({ enabled: false }), random: () => 0, deepChecks: new DeepChecks([[check]]), onCapacity: (_vim, _monitor, c) => reported.push(c) }, { capacity: null, conditions: [] });
    const figures = (used: number, at: string): CapacityFigures => ({ resources: { VCPU: { total: 8, used, free: 8 - used } }, checked_at: at });
    let now = 0;
    for (const [used, at] of [[1, 'a'], [1, 'b'], [2, 'c']] as const) {
      check.report = { conditions: [], capacity: figures(used, at) };
      runs.startIfDue(target, settings, confirmAtOnce, now);
      now += 10_000;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(reported.map((c) => c.checked_at)).toEqual(['a', 'c']);
  });
});
