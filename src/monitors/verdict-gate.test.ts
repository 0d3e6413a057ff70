/**
 * The hook the isolation guard and the confirmation by other workers use:
 * a down verdict goes through the gate, a held one keeps the status, and
 * recovery is never gated. The probe is scripted: this pins the monitor's
 * logic, not a driver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openstackInput } from '../../test/support/fixtures.js';
import { ADMIN, startMonitoring, waitFor, type MonitoringHarness } from '../../test/support/monitoring.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import type { DownVerdict, GateDecision, VerdictGate } from './verdict-gate.js';

class ScriptedGate implements VerdictGate {
  decision: GateDecision = { verdict: 'hold', reason: 'waiting for other workers' };
  readonly reviewed: DownVerdict[] = [];
  readonly settledVims: string[] = [];

  review(verdict: DownVerdict): GateDecision {
    this.reviewed.push(verdict);
    return this.decision;
  }

  settled(vimId: string): void {
    this.settledVims.push(vimId);
  }

  settledFor(vimId: string): number {
    return this.settledVims.filter((id) => id === vimId).length;
  }
}

describe('the verdict gate', () => {
  const harnesses: MonitoringHarness[] = [];
  afterEach(async () => {
    for (const harness of harnesses.splice(0)) await harness.stop().catch(() => undefined);
  });

  it('holds a down verdict while the gate says hold, applies it with the gate note, and never gates recovery', async () => {
    const probe = new ScriptedProbe('tcp');
    const gate = new ScriptedGate();
    const harness = await startMonitoring({ probes: [probe], settings: { interval: 0.2, timeout: 0.1, failure_threshold: 2, success_threshold: 1 }, gate });
    harnesses.push(harness);
    const vim = await harness.registry.create(ADMIN, openstackInput('gated'));
    await waitFor('REACHABLE', async () => ((await harness.registry.get(ADMIN, vim.id)).status === 'REACHABLE' ? true : undefined));

    probe.set(vim.id, 'fail');
    await waitFor('three reviews', () => (gate.reviewed.length >= 3 ? true : undefined));
    const held = harness.manager.monitorOf(vim.id)!;
    expect(held.status).toBe('REACHABLE');
    expect(held.consecutive_failures).toBeGreaterThanOrEqual(4);
    expect(held.held?.reason).toBe('waiting for other workers');
    expect(gate.reviewed[0]).toMatchObject({ vimId: vim.id, from: 'REACHABLE', reason: 'failed: tcp: tcp scripted failure' });
    expect((await harness.registry.get(ADMIN, vim.id)).status).toBe('REACHABLE');

    gate.decision = { verdict: 'apply', note: 'confirmed by 2 of 2 workers' };
    await waitFor('UNREACHABLE', async () => ((await harness.registry.get(ADMIN, vim.id)).status === 'UNREACHABLE' ? true : undefined));
    await harness.writes.drain(2_000);
    const [event] = (await harness.events.list({ vimIds: [vim.id], eventTypes: ['MONITOR'], limit: 10 })).slice(-1);
    expect(event?.reason).toBe('failed: tcp: tcp scripted failure (confirmed by 2 of 2 workers)');
    expect(harness.manager.monitorOf(vim.id)?.held).toBeNull();
    expect(gate.settledFor(vim.id)).toBe(1);

    const reviews = gate.reviewed.length;
    gate.decision = { verdict: 'hold', reason: 'never asked for a recovery' };
    probe.set(vim.id, 'ok');
    await waitFor('REACHABLE again', async () => ((await harness.registry.get(ADMIN, vim.id)).status === 'REACHABLE' ? true : undefined));
    expect(gate.reviewed.length).toBe(reviews);
  });

  it('holds a first verdict too: a VIM the gate holds stays PENDING', async () => {
    const gate = new ScriptedGate();
    const harness = await startMonitoring({ probes: [new ScriptedProbe('tcp', 'fail')], settings: { interval: 0.2, timeout: 0.1 }, gate });
    harnesses.push(harness);
    const vim = await harness.registry.create(ADMIN, openstackInput('first'));
    await waitFor('a review', () => (gate.reviewed.length >= 2 ? true : undefined));
    expect(gate.reviewed[0]?.from).toBe('PENDING');
    expect((await harness.registry.get(ADMIN, vim.id)).status).toBe('PENDING');
    expect(gate.settledFor(vim.id)).toBe(0);
  });
});
