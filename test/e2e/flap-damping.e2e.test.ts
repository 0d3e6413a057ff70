/**
 * Flap damping end to end, counting what a real webhook receiver gets. The
 * probe is the ScriptedProbe stand-in: what is under test is the damping of
 * notifications (every change is still stored), not probing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackVim } from '../support/fixtures.js';
import { waitFor } from '../support/monitoring.js';
import { ScriptedProbe } from '../support/scripted-probe.js';
import { startTestService, type TestService } from '../support/service.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const monitor = { probes: ['tcp' as const], interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 };
const WINDOW_S = 2;

describe('flap damping', () => {
  const probe = new ScriptedProbe('tcp');
  const receiver = new WebhookReceiver();
  let service: TestService;

  beforeAll(async () => {
    await receiver.up();
    service = await startTestService({
      monitoring: { probes: [probe], monitor, manager: { sweep_interval: 0.5 } },
      flap: { max_changes: 3, window: WINDOW_S },
      maintenance: { check_interval: 0.1 },
    });
    await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: receiver.url } } });
  });
  afterAll(async () => {
    await service?.stop();
    await receiver.down();
  });

  const statusOf = async (vimId: string): Promise<string> => (await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status;
  async function flip(vimId: string): Promise<void> {
    const before = await statusOf(vimId);
    probe.set(vimId, before === 'REACHABLE' ? 'fail' : 'ok');
    await waitFor('a flip', async () => ((await statusOf(vimId)) !== before ? true : undefined));
  }
  const deliveredFor = (vimId: string) =>
    receiver.received
      .map((r) => ({ at: r.at, event: (JSON.parse(r.body) as { event: { resource_id: string; resource_state: string; event_details: { old_status: string; reason: string } } }).event }))
      .filter((r) => r.event.resource_id === vimId);

  it('sends the changes up to max_changes, then at most one status per window while the VIM flaps, then the final status once it calms down', async () => {
    const vimId = (await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'flappy' }) } })).json.vim.id as string;
    await waitFor('REACHABLE', async () => ((await statusOf(vimId)) === 'REACHABLE' ? true : undefined));
    // Changes 2 and 3 go out; change 4 exceeds max_changes (3) and starts the flapping.
    for (let i = 0; i < 3; i++) await flip(vimId);
    await waitFor('the first four events', () => (deliveredFor(vimId).length >= 4 ? true : undefined));
    const started = deliveredFor(vimId)[3]!;
    expect(started.event.event_details.reason).toMatch(/\(flapping: 4 status changes within 2 s; receivers get at most one status per 2 s until it calms down\)$/);
    const monitorView = (await service.api('GET', `/v1.0/vims/${vimId}/monitor`)).json.monitor;
    expect(monitorView.flapping).toMatchObject({ changes: 4 });
    await waitFor('the flapping gauge', async () => ((await service.api('GET', '/metrics')).text.includes('vim_monitor_vims_held{hold="flapping"} 1') ? true : undefined));

    // Keep it flapping for about 2.5 windows.
    const flappingFrom = Date.now();
    let changes = 4;
    while (Date.now() - flappingFrom < 2.5 * WINDOW_S * 1000) {
      await flip(vimId);
      changes += 1;
    }
    const finalStatus = await statusOf(vimId);
    const duringFlapping = deliveredFor(vimId).slice(4).filter((r) => r.at <= Date.now());
    // At most one per window: 2.5 windows allow at most 3 (one per window boundary crossed).
    expect(changes).toBeGreaterThan(10);
    expect(duringFlapping.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < duringFlapping.length; i++) expect(duringFlapping[i]!.at - duringFlapping[i - 1]!.at).toBeGreaterThan(WINDOW_S * 1000 - 300);

    // Quiet for a window: the flapping ends and receivers converge on the final status.
    const stored = (await service.api('GET', `/v1.0/events?resource_id=${vimId}&event_type=MONITOR&limit=1000`)).json.events;
    // Every change is stored (the catch-ups sent while it flapped are extra events, not changes).
    const catchUps = (e: { event_details: { reason: string } }) => /^flapping, at most one status per 2 s: status is/.test(e.event_details.reason);
    expect(stored.filter((e: { event_details: { reason: string } }) => !catchUps(e))).toHaveLength(changes);
    expect(stored.filter(catchUps).length).toBeGreaterThanOrEqual(duringFlapping.length);
    expect(stored.filter(catchUps).length).toBeLessThanOrEqual(3);
    expect(stored.filter((e: { held_by?: string }) => e.held_by === 'flapping').length).toBeGreaterThan(5);
    await waitFor('calm', async () => ((await service.api('GET', `/v1.0/vims/${vimId}/monitor`)).json.monitor.flapping === null ? true : undefined), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const all = deliveredFor(vimId);
    expect(all[all.length - 1]!.event.resource_state).toBe(finalStatus);
    // Far fewer notifications than changes: 3 before the flapping, the one that started it, ≤ 3 while it flapped, ≤ 1 when it calmed.
    expect(all.length).toBeLessThanOrEqual(8);
    // Each notification moves from the state the previous one left receivers in.
    for (let i = 1; i < all.length; i++) expect(all[i]!.event.event_details.old_status).toBe(all[i - 1]!.event.resource_state);
  });
});
