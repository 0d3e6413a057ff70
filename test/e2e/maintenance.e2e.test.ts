/**
 * Maintenance windows end to end (issue 11): real TCP targets on loopback
 * taken down and brought back, the real tcp probe, a real webhook receiver.
 * During a window the VIM's changes are stored and shown with held_by but no
 * webhook goes out (unless a subscription asks for held events); when the
 * window ends receivers get exactly one catch-up event per VIM whose status
 * they missed, none for a VIM that came back to what they last got. On
 * SQLite and PostgreSQL; also across a restart in the middle of a window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { waitFor } from '../support/monitoring.js';
import { startTestService, type TestService, type TestServiceOptions } from '../support/service.js';
import { TcpTarget } from '../support/tcp-target.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const monitor = { probes: ['tcp' as const], interval: 0.2, timeout: 0.15, failure_threshold: 1, success_threshold: 1 };

interface Delivered {
  subscription: string;
  id: number;
  resource_id: string;
  resource_state: string;
  held_by?: string;
  event_details: { old_status: string; new_status: string; reason: string };
}

describe.each(['sqlite', 'postgres'] as const)('maintenance windows on %s', (dialect) => {
  const receiver = new WebhookReceiver();
  const downDuringWindow = new TcpTarget();
  const backDuringWindow = new TcpTarget();
  let database: TestDatabase;
  let service: TestService;
  let options: TestServiceOptions;
  let plain = '';
  let withHeld = '';
  const secretKey = Buffer.alloc(32, 7).toString('base64');

  beforeAll(async () => {
    await receiver.up();
    await downDuringWindow.up();
    await backDuringWindow.up();
    database = await createTestDatabase(dialect);
    options = {
      databaseUrl: database.url,
      secretKey,
      monitoring: { monitor, manager: { sweep_interval: 0.5 } },
      maintenance: { check_interval: 0.1, refresh_interval: 1 },
    };
    service = await startTestService(options);
    plain = (await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: receiver.url } } })).json.subscription.id;
    withHeld = (await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: receiver.url, filter: { include_held: true } } } })).json.subscription.id;
  });
  afterAll(async () => {
    await service?.stop();
    await receiver.down();
    await downDuringWindow.down();
    await backDuringWindow.down();
    await database?.drop();
  });

  function delivered(subscription: string, vimId: string): Delivered[] {
    return receiver.received
      .filter((r) => r.headers['x-vim-monitor-subscription-id'] === subscription)
      .map((r) => ({ subscription, ...(JSON.parse(r.body) as { event: Omit<Delivered, 'subscription'> }).event }))
      .filter((event) => event.resource_id === vimId);
  }
  const chain = (events: Delivered[]): string[] => events.map((e) => `${e.event_details.old_status}->${e.resource_state}${e.held_by ? ` (${e.held_by})` : ''}`);
  const statusOf = async (vimId: string): Promise<string> => (await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status;
  const until = (vimId: string, status: string) => waitFor(`${vimId} ${status}`, async () => ((await statusOf(vimId)) === status ? true : undefined), 5_000);
  async function register(name: string, target: TcpTarget): Promise<string> {
    const body = { vim: { name, type: 'openstack', auth_url: `http://127.0.0.1:${target.port}`, auth_cred: { username: 'u', password: 'p' }, vim_project: { name: 'p' } } };
    const created = await service.api('POST', '/v1.0/vims', { body });
    expect(created.status, created.text).toBe(201);
    return created.json.vim.id as string;
  }

  it('sends nothing during the window and exactly one catch-up after it for a VIM that stayed down; none for one that came back', async () => {
    const down = await register(`down-${dialect}`, downDuringWindow);
    const back = await register(`back-${dialect}`, backDuringWindow);
    await until(down, 'REACHABLE');
    await until(back, 'REACHABLE');
    await waitFor('the first events', () => (delivered(plain, down).length === 1 && delivered(plain, back).length === 1 ? true : undefined));

    const endsAt = new Date(Date.now() + 4_000);
    const created = await service.api('POST', '/v1.0/maintenances', {
      body: { maintenance: { reason: 'router firmware', scope: { vim_ids: [down, back] }, end: endsAt.toISOString() } },
    });
    expect(created.status, created.text).toBe(201);
    const windowId = created.json.maintenance.id as string;
    expect(created.json.maintenance).toMatchObject({ tenant_id: 'admin', scope: { vim_ids: [down, back] }, recurrence: null, open_now: { until: expect.any(String) } });

    // The window is visible on the VIM, in the list filter, in the monitor view and in the metrics.
    const vim = (await service.api('GET', `/v1.0/vims/${down}`)).json.vim;
    expect(vim.maintenance).toMatchObject({ window_id: windowId, reason: 'router firmware' });
    const inMaintenance = (await service.api('GET', '/v1.0/vims?maintenance=true')).json.vims.map((v: { id: string }) => v.id);
    expect(new Set(inMaintenance)).toEqual(new Set([down, back]));
    expect((await service.api('GET', `/v1.0/vims?maintenance=false&id=${down}`)).json.vims).toEqual([]);
    expect((await service.api('GET', `/v1.0/vims/${down}/monitor`)).json.monitor.maintenance).toMatchObject({ window_id: windowId });
    await waitFor('the held gauge', async () => ((await service.api('GET', '/metrics')).text.includes('vim_monitor_vims_held{hold="maintenance"} 2') ? true : undefined));

    // The monitors keep probing and recording: down, up, down for one; down and back up for the other.
    await downDuringWindow.down();
    await until(down, 'UNREACHABLE');
    await downDuringWindow.up();
    await until(down, 'REACHABLE');
    await downDuringWindow.down();
    await until(down, 'UNREACHABLE');
    await backDuringWindow.down();
    await until(back, 'UNREACHABLE');
    await backDuringWindow.up();
    await until(back, 'REACHABLE');
    expect(Date.now(), 'the scripted changes fit in the window').toBeLessThan(endsAt.getTime());
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(chain(delivered(plain, down))).toEqual(['PENDING->REACHABLE']);
    expect(chain(delivered(plain, back))).toEqual(['PENDING->REACHABLE']);
    // A subscription that asked for held events got them, flagged.
    expect(chain(delivered(withHeld, down))).toEqual([
      'PENDING->REACHABLE',
      'REACHABLE->UNREACHABLE (maintenance)',
      'UNREACHABLE->REACHABLE (maintenance)',
      'REACHABLE->UNREACHABLE (maintenance)',
    ]);

    // The window ends: one catch-up for the VIM that is down, nothing for the one back where receivers left it.
    await waitFor('the catch-up', () => (delivered(plain, down).length >= 2 ? true : undefined), 8_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = delivered(plain, down);
    expect(chain(after)).toEqual(['PENDING->REACHABLE', 'REACHABLE->UNREACHABLE']);
    expect(after[1]!.event_details.reason).toMatch(/^maintenance ended: status is UNREACHABLE since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \(receivers last got REACHABLE\)$/);
    expect(receiver.received.filter((r) => r.body.includes(after[1]!.event_details.reason) && r.headers['x-vim-monitor-subscription-id'] === plain)).toHaveLength(1);
    expect(chain(delivered(plain, back))).toEqual(['PENDING->REACHABLE']);
    expect((await service.api('GET', `/v1.0/vims/${down}`)).json.vim.maintenance).toBeNull();

    // The history keeps everything, the held events flagged.
    const history = (await service.api('GET', `/v1.0/events?resource_id=${down}&event_type=MONITOR`)).json.events as Delivered[];
    expect(chain(history)).toEqual([
      'PENDING->REACHABLE',
      'REACHABLE->UNREACHABLE (maintenance)',
      'UNREACHABLE->REACHABLE (maintenance)',
      'REACHABLE->UNREACHABLE (maintenance)',
      'REACHABLE->UNREACHABLE',
    ]);
  });

  it('ends the hold at once when the window is deleted, and catches up a change the restarted service found pending', async () => {
    const vim = await register(`restart-${dialect}`, downDuringWindow);
    await downDuringWindow.up();
    await until(vim, 'REACHABLE');
    await waitFor('the first event', () => (delivered(plain, vim).length === 1 ? true : undefined));
    const created = await service.api('POST', '/v1.0/maintenances', { body: { maintenance: { reason: 'open-ended', scope: { vim_ids: [vim] } } } });
    expect(created.json.maintenance).toMatchObject({ end: null, open_now: { until: null } });
    await downDuringWindow.down();
    await until(vim, 'UNREACHABLE');

    // A restart in the middle of the window: the pending catch-up is in the database, not in memory.
    await service.stop();
    service = await startTestService(options);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(chain(delivered(plain, vim))).toEqual(['PENDING->REACHABLE']);
    const deleted = await service.api('DELETE', `/v1.0/maintenances/${created.json.maintenance.id}`);
    expect(deleted.status).toBe(204);
    await waitFor('the catch-up', () => (delivered(plain, vim).length >= 2 ? true : undefined), 5_000);
    expect(chain(delivered(plain, vim))).toEqual(['PENDING->REACHABLE', 'REACHABLE->UNREACHABLE']);
  });
});
