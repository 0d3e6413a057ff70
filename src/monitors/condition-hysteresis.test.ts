/**
 * Conditions follow the thresholds that status follows: a lost ping or two
 * change neither health nor the events, and when status does change, its
 * conditions change with it in the same event. The probe is scripted (the
 * thresholds are the monitor's logic; the real drivers are tested in
 * src/probes and in the fault tests).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openstackInput } from '../../test/support/fixtures.js';
import { ADMIN, startMonitoring, waitFor, type MonitoringHarness } from '../../test/support/monitoring.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import type { ProbeOutcome, ProbeTarget } from '../probes/probe.js';

/** Answers like ScriptedProbe, but fails exactly the next `n` checks of a VIM when told to. */
class LossyProbe extends ScriptedProbe {
  private readonly losses = new Map<string, number>();

  lose(vimId: string, checks: number): void {
    this.losses.set(vimId, checks);
  }

  lossesLeft(vimId: string): number {
    return this.losses.get(vimId) ?? 0;
  }

  override async check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const left = this.losses.get(target.vimId) ?? 0;
    if (left === 0) return super.check(target, signal);
    this.losses.set(target.vimId, left - 1);
    this.calls.push({ vimId: target.vimId, at: Date.now() });
    return { ok: false, reason: 'no reply (lost)' };
  }
}

describe('conditions and status share their thresholds', () => {
  const harnesses: MonitoringHarness[] = [];
  afterEach(async () => {
    for (const harness of harnesses.splice(0)) await harness.stop().catch(() => undefined);
  });

  it('keeps health OK and sends no HEALTH event for failures below failure_threshold, then changes both in one round', async () => {
    const probe = new LossyProbe('tcp');
    const harness = await startMonitoring({ probes: [probe], settings: { interval: 0.2, timeout: 0.1, failure_threshold: 3, success_threshold: 2 } });
    harnesses.push(harness);
    const vim = await harness.registry.create(ADMIN, openstackInput('lossy'));
    await waitFor('REACHABLE', async () => ((await harness.registry.get(ADMIN, vim.id)).status === 'REACHABLE' ? true : undefined));
    const healthEvents = async () => (await harness.events.list({ vimIds: [vim.id], eventTypes: ['HEALTH'], limit: 50 })).length;
    await harness.writes.drain(2_000);
    const before = await healthEvents();

    probe.lose(vim.id, 2);
    await waitFor('two lost checks', () => (probe.lossesLeft(vim.id) === 0 ? true : undefined));
    const snapshot = harness.manager.monitorOf(vim.id)!;
    const network = snapshot.conditions.find((condition) => condition.type === 'NetworkReachable');
    expect(snapshot.health).toBe('OK');
    expect(network?.status).toBe('True');
    expect(network?.reason).toMatch(/unconfirmed: [12] of 3 failed runs/);
    // A few good rounds more: still nothing changed, nothing sent.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await harness.registry.get(ADMIN, vim.id)).health).toBe('OK');
    expect(await healthEvents()).toBe(before);

    probe.set(vim.id, 'fail');
    const down = await waitFor('UNREACHABLE', async () => {
      const current = await harness.registry.get(ADMIN, vim.id);
      return current.status === 'UNREACHABLE' ? current : undefined;
    });
    expect(down.health).toBe('DOWN');
    await harness.writes.drain(2_000);
    const events = await harness.events.list({ vimIds: [vim.id], limit: 50 });
    const statusDown = events.findIndex((event) => event.event_type === 'MONITOR' && event.new_status === 'UNREACHABLE');
    expect(statusDown).toBeGreaterThan(0);
    // The status change carries its conditions: no HEALTH event announced DOWN before the status did.
    const healthDownBefore = events.slice(0, statusDown).filter((event) => event.event_type === 'HEALTH' && (event.detail ?? '').includes('"new_health":"DOWN"'));
    expect(healthDownBefore).toEqual([]);
  });
});
