/**
 * Layered health through the whole service: the monitor's conditions stored
 * on the VIM, shown by the VIM and monitor APIs, listed as HEALTH events.
 * The probes are the ScriptedProbe stand-in: what is tested is the monitor's
 * and the store's own logic (which reasons real probes give is pinned in
 * src/health/probe-conditions.test.ts with the real API probe).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackVim } from '../../../test/support/fixtures.js';
import { waitFor } from '../../../test/support/monitoring.js';
import { ScriptedProbe } from '../../../test/support/scripted-probe.js';
import { startTestService, type TestService } from '../../../test/support/service.js';

interface WireCondition {
  type: string;
  status: string;
  severity: string;
  layer: string;
  reason: string;
  since: string;
  last_checked: string;
}

describe('layered health in the VIM API', () => {
  let service: TestService;
  const tcp = new ScriptedProbe('tcp');
  const api = new ScriptedProbe('api');

  beforeAll(async () => {
    service = await startTestService({
      monitoring: {
        probes: [tcp, api],
        monitor: { probes: ['tcp', 'api'], interval: 0.2, timeout: 0.1, failure_threshold: 2, success_threshold: 2 },
        manager: { sweep_interval: 0.2, stall_grace: 0.2 },
      },
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function register(name: string, extra: Record<string, unknown> = {}) {
    const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name, ...extra }) } });
    expect(response.status, response.text).toBe(201);
    return response.json.vim as { id: string; conditions: unknown; health: unknown; capacity: unknown };
  }
  const vimOf = async (id: string) => (await service.api('GET', `/v1.0/vims/${id}`)).json.vim as Record<string, unknown> & { conditions: WireCondition[] };
  const healthEvents = async (id: string) => (await service.api('GET', `/v1.0/events?resource_id=${id}&event_type=HEALTH`)).json.events as Array<Record<string, any>>;

  it('shows no conditions, no health and no capacity on a VIM not yet checked', async () => {
    tcp.set('*', 'hang');
    try {
      const vim = await register('unchecked');
      expect([vim.conditions, vim.health, vim.capacity]).toEqual([[], null, null]);
    } finally {
      tcp.set('*', 'ok');
    }
  });

  it('stores the conditions of the first round with the status and shows them on the VIM, honouring fields=', async () => {
    const vim = await register('checked');
    const shown = await waitFor('conditions', async () => {
      const current = await vimOf(vim.id);
      return current.status === 'REACHABLE' ? current : undefined;
    });
    expect(shown.health).toBe('OK');
    expect(shown.capacity).toBeNull();
    expect(shown.conditions.map((c) => [c.type, c.layer, c.status, c.severity])).toEqual([
      ['NetworkReachable', 'network', 'True', 'error'],
      ['IdentityAPI', 'identity', 'True', 'error'],
    ]);
    expect(shown.conditions[0]!.since).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
    const projected = (await service.api('GET', `/v1.0/vims?id=${vim.id}&fields=health&fields=conditions`)).json.vims[0];
    expect(Object.keys(projected)).toEqual(['health', 'conditions']);
  });

  it('stores a condition change that does not move the status, once, with a HEALTH event naming the first failing layer', async () => {
    // Conditions follow the status thresholds, so a condition moves without the status only where the
    // status already says UNREACHABLE: the network comes back while the identity API still fails.
    const vim = await register('degrading');
    await waitFor('REACHABLE', async () => ((await vimOf(vim.id)).status === 'REACHABLE' ? true : undefined));
    tcp.set(vim.id, 'fail');
    api.set(vim.id, 'fail');
    await waitFor('UNREACHABLE', async () => ((await vimOf(vim.id)).status === 'UNREACHABLE' ? true : undefined));
    tcp.set(vim.id, 'ok');
    const identity = await waitFor('failing layer identity', async () => {
      const current = await vimOf(vim.id);
      return current.conditions.find((c) => c.type === 'NetworkReachable')?.status === 'True' ? current : undefined;
    });
    expect(identity.status).toBe('UNREACHABLE');
    expect(identity.health).toBe('DOWN');
    expect(identity.conditions.find((c) => c.type === 'IdentityAPI')).toMatchObject({ status: 'False', reason: 'api scripted failure' });
    const callsThen = api.callsFor(vim.id);
    await waitFor('five more rounds', () => (api.callsFor(vim.id) >= callsThen + 5 ? true : undefined));
    const events = await healthEvents(vim.id);
    // The first round (conditions appeared), the status change to UNREACHABLE, the network back: not one per round.
    expect(events).toHaveLength(3);
    expect(events[2]).toMatchObject({
      resource_id: vim.id,
      resource_type: 'vim',
      resource_state: 'UNREACHABLE',
      event_type: 'HEALTH',
      event_details: { old_health: 'DOWN', new_health: 'DOWN', failing_layer: 'identity', changed: ['NetworkReachable', 'IdentityAPI'], reason: 'identity failed: IdentityAPI: api scripted failure' },
    });
    const statusEvents = (await service.api('GET', `/v1.0/events?resource_id=${vim.id}&event_type=MONITOR`)).json.events;
    expect(statusEvents.map((e: { event_type: string; resource_state: string }) => [e.event_type, e.resource_state])).toEqual([
      ['MONITOR', 'REACHABLE'],
      ['MONITOR', 'UNREACHABLE'],
    ]);
    api.set(vim.id, 'ok');
    await waitFor('OK again', async () => ((await vimOf(vim.id)).health === 'OK' ? true : undefined));
  });

  it('reports the layers above a failed network as Unknown, and the monitor view shows the live conditions', async () => {
    const vim = await register('cut-off');
    await waitFor('REACHABLE', async () => ((await vimOf(vim.id)).status === 'REACHABLE' ? true : undefined));
    tcp.set(vim.id, 'fail');
    const down = await waitFor('UNREACHABLE', async () => {
      const current = await vimOf(vim.id);
      return current.status === 'UNREACHABLE' ? current : undefined;
    });
    expect(down.health).toBe('DOWN');
    expect(down.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['NetworkReachable', 'False', 'tcp: tcp scripted failure'],
      ['IdentityAPI', 'Unknown', 'not checked: network failed'],
    ]);
    const monitor = (await service.api('GET', `/v1.0/vims/${vim.id}/monitor`)).json.monitor;
    expect(monitor).toMatchObject({ health: 'DOWN', failing_layer: 'network', capacity: null });
    expect(monitor.conditions[0]).toMatchObject({ type: 'NetworkReachable', status: 'False', since: down.conditions[0]!.since });
    expect(monitor.conditions[0].last_checked >= down.conditions[0]!.last_checked).toBe(true);
    tcp.set(vim.id, 'ok');
  });

  it('refuses conditions, health and capacity as input with a 400 and changes nothing', async () => {
    const vim = await register('read-only');
    const before = await vimOf(vim.id);
    const bad = [
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'x-health', health: 'OK' }) } }),
      await service.api('PUT', `/v1.0/vims/${vim.id}`, { body: { vim: { conditions: [] } } }),
      await service.api('PUT', `/v1.0/vims/${vim.id}`, { body: { vim: { capacity: {} } } }),
      await service.api('GET', '/v1.0/events?event_type=STATUS'),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 400]);
    expect(bad[0]!.json.TackerError.message).toBe("Attribute 'vim.health' is read-only or cannot be changed");
    expect((await service.api('GET', '/v1.0/vims?name=x-health')).json.vims).toEqual([]);
    expect((await vimOf(vim.id)).updated_at).toBe(before.updated_at);
  });

  it("takes a VIM's own deep-check settings in monitor_settings.health and refuses bad ones with a 400, changing nothing", async () => {
    const vim = await register('tuned', { monitor_settings: { health: { watched_services: ['compute'], expiry_warning_days: 30 } } });
    const before = await vimOf(vim.id);
    expect(before.monitor_settings).toEqual({ health: { watched_services: ['compute'], expiry_warning_days: 30 } });
    const bad = [
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'x-ratio', monitor_settings: { health: { capacity_warning_ratio: 2 } } }) } }),
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'x-both', monitor_settings: { health: { required_services: ['image'], watched_services: ['image'] } } }) } }),
      await service.api('PUT', `/v1.0/vims/${vim.id}`, { body: { vim: { monitor_settings: { health: { endpoint_interface: 'private' } } } } }),
      await service.api('PUT', `/v1.0/vims/${vim.id}`, { body: { vim: { monitor_settings: { health: { deep_interval: 60, colour: 'red' } } } } }),
      await service.api('PUT', `/v1.0/vims/${vim.id}`, { body: { vim: { monitor_settings: { health: { watched_services: ['compute', 'x y'] } } } } }),
      await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: 'http://127.0.0.1:9/hook', filter: { event_types: ['STATUS'] } } } }),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400]);
    for (const response of bad) expect(Object.keys(response.json.TackerError)).toEqual(['type', 'message', 'detail']);
    expect(bad[1]!.json.TackerError.message).toBe("monitor_settings.health: service type 'image' cannot be both required and watched");
    expect(bad[5]!.json.TackerError.message).toMatch(/event_types/);
    expect((await service.api('GET', '/v1.0/vims?name=x-ratio&name=x-both')).json.vims).toEqual([]);
    const after = await vimOf(vim.id);
    expect([after.monitor_settings, after.updated_at]).toEqual([before.monitor_settings, before.updated_at]);
  });

  it('describes conditions, health and capacity in the OpenAPI document as attributes a client may not send', async () => {
    const document = (await service.api('GET', '/v1.0/openapi.json')).json;
    const text = JSON.stringify(document.paths['/v1.0/vims'] ?? document.paths['/v1.0/vims.json']);
    for (const attribute of ['conditions', 'health', 'capacity']) expect(text).toContain(`"${attribute}":{"not":{}}`);
  });
});
