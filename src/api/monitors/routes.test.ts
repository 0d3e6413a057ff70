import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackVim } from '../../../test/support/fixtures.js';
import { waitFor } from '../../../test/support/monitoring.js';
import { ScriptedProbe } from '../../../test/support/scripted-probe.js';
import { startTestService, type TestService } from '../../../test/support/service.js';

describe('the monitor and event API', () => {
  let service: TestService;
  const probe = new ScriptedProbe('tcp');

  beforeAll(async () => {
    service = await startTestService({
      monitoring: {
        probes: [probe],
        monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 2, success_threshold: 2 },
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
    return response.json.vim as { id: string };
  }

  it('shows the VIM status decided by its monitor in the VIM API', async () => {
    const vim = await register('watched');
    const status = await waitFor('REACHABLE', async () => {
      const shown = (await service.api('GET', `/v1.0/vims/${vim.id}`)).json.vim.status as string;
      return shown === 'REACHABLE' ? shown : undefined;
    });
    expect(status).toBe('REACHABLE');
  });

  it('shows which monitor watches a VIM, its owner and per-probe detail', async () => {
    const vim = await register('detailed');
    await waitFor('a round', () => (probe.callsFor(vim.id) > 0 ? true : undefined));
    const response = await service.api('GET', `/v1.0/vims/${vim.id}/monitor.json`);
    expect(response.status).toBe(200);
    expect(response.json.monitor).toMatchObject({
      vim_id: vim.id,
      monitor_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      owner: expect.stringContaining(':'),
      state: expect.stringMatching(/idle|checking/),
      heartbeat_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} /),
      probes: { tcp: { ok: true, reason: 'tcp ok', consecutive_failures: 0 } },
      settings: { probes: ['tcp'], interval: 0.2 },
      replacements: 0,
    });
    const list = await service.api('GET', '/v1.0/monitors');
    expect(list.json.monitors.map((m: { vim_id: string }) => m.vim_id)).toContain(vim.id);
  });

  it('lists a VIM status changes as events, filtered by resource and time', async () => {
    const vim = await register('eventful');
    await waitFor('REACHABLE', async () => ((await service.api('GET', `/v1.0/vims/${vim.id}`)).json.vim.status === 'REACHABLE' ? true : undefined));
    probe.set(vim.id, 'fail');
    await waitFor('UNREACHABLE', async () => ((await service.api('GET', `/v1.0/vims/${vim.id}`)).json.vim.status === 'UNREACHABLE' ? true : undefined));
    probe.set(vim.id, 'ok');
    const events = (await service.api('GET', `/v1.0/events?resource_id=${vim.id}&event_type=MONITOR`)).json.events;
    expect(events.map((e: { resource_state: string }) => e.resource_state)).toEqual(['REACHABLE', 'UNREACHABLE']);
    expect(events[1]).toMatchObject({
      resource_id: vim.id,
      resource_type: 'vim',
      event_type: 'MONITOR',
      event_details: { old_status: 'REACHABLE', new_status: 'UNREACHABLE', reason: 'failed: tcp: tcp scripted failure' },
    });
    expect(events[1].event_details.probes.tcp.ok).toBe(false);
    const later = (await service.api('GET', `/v1.0/events?resource_id=${vim.id}&event_type=MONITOR&since=${encodeURIComponent(events[0].timestamp)}`)).json.events;
    expect(later.map((e: { id: number }) => e.id)).toEqual([events[1].id]);
    const after = (await service.api('GET', `/v1.0/events?resource_id=${vim.id}&event_type=MONITOR&after_id=${events[0].id}&limit=1`)).json.events;
    expect(after.map((e: { id: number }) => e.id)).toEqual([events[1].id]);
  });

  it('refuses invalid monitor settings and event queries with a 400 and changes nothing', async () => {
    const before = (await service.api('GET', '/v1.0/vims')).json.vims.length;
    const bad = [
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'x1', monitor_settings: { interval: 1, timeout: 2 } }) } }),
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'x2', monitor_settings: { probes: ['smtp'] } }) } }),
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'x3', monitor_settings: { colour: 1 } }) } }),
      await service.api('GET', '/v1.0/events?since=yesterday'),
      await service.api('GET', '/v1.0/events?limit=0'),
      await service.api('GET', '/v1.0/events?colour=red'),
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'x4', monitor_settings: { health: { region: '' } } }) } }),
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'x5', monitor_settings: { health: { region: 'Region\u001bOne' } } }) } }),
      await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'x6', monitor_settings: { health: { region: 'r'.repeat(256) } } }) } }),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400]);
    expect(bad[0]?.json.TackerError.message).toMatch(/timeout \(2 s\) must be shorter than interval \(1 s\)/);
    expect(bad.slice(6).map((r) => r.json.TackerError.message)).toEqual([
      "Invalid value for 'vim.monitor_settings.health.region': must NOT have fewer than 1 characters",
      expect.stringMatching(/^Invalid value for 'vim\.monitor_settings\.health\.region': must match pattern/),
      "Invalid value for 'vim.monitor_settings.health.region': must NOT have more than 255 characters",
    ]);
    expect((await service.api('GET', '/v1.0/vims')).json.vims.length).toBe(before);
  });

  it("accepts a region in a VIM's own health settings, and null for every region", async () => {
    const vim = await register('regional', { monitor_settings: { health: { region: 'RegionTwo' } } });
    expect((await service.api('GET', `/v1.0/vims/${vim.id}`)).json.vim.monitor_settings).toEqual({ health: { region: 'RegionTwo' } });
    const updated = await service.api('PUT', `/v1.0/vims/${vim.id}`, { body: { vim: { monitor_settings: { health: { region: null } } } } });
    expect(updated.status, updated.text).toBe(200);
    expect((await service.api('GET', `/v1.0/vims/${vim.id}`)).json.vim.monitor_settings).toEqual({ health: { region: null } });
  });

  it('reports the manager statistics: monitors, rounds scheduled and executed, lateness', async () => {
    const response = await service.api('GET', '/v1.0/manager');
    expect(response.status).toBe(200);
    const { manager } = response.json;
    expect(manager.monitors).toBeGreaterThan(0);
    expect(manager.rounds.executed).toBeGreaterThan(0);
    expect(manager.rounds.scheduled).toBeGreaterThanOrEqual(manager.rounds.executed);
    expect(manager.rounds.lateness_ms.p99).toBeLessThanOrEqual(1000);
  });

  it('answers 404 for the monitor of an unknown VIM', async () => {
    expect((await service.api('GET', '/v1.0/vims/00000000-0000-4000-8000-000000000000/monitor')).status).toBe(404);
  });
});
