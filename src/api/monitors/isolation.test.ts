/**
 * The isolation guard through the API (issue 11): GET /v1.0/manager and
 * /v1.0/manager/isolation show it, the monitor view says it, an ISOLATION
 * event is listed when asked for (and only then), reaches a webhook that
 * subscribed to it (and no other), and an administrator's acknowledgement
 * lets held verdicts through. The probe is the ScriptedProbe stand-in: what
 * is tested is the service's own behaviour; src/guard/isolation-guard.test.ts
 * and test/e2e/isolation.e2e.test.ts use real network paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { openstackVim } from '../../../test/support/fixtures.js';
import { waitFor } from '../../../test/support/monitoring.js';
import { ScriptedProbe } from '../../../test/support/scripted-probe.js';
import { startTestService, type TestService } from '../../../test/support/service.js';
import { WebhookReceiver } from '../../../test/support/webhook-receiver.js';

const VIMS = 12;

describe('the isolation guard in the API', () => {
  let service: TestService;
  const probe = new ScriptedProbe('tcp');
  const isolationHook = new WebhookReceiver();
  const statusHook = new WebhookReceiver();
  const ids: string[] = [];

  beforeAll(async () => {
    await isolationHook.up();
    await statusHook.up();
    service = await startTestService({
      monitoring: {
        probes: [probe],
        // A window of 1 s and 8 failed rounds (1.6 s) before a verdict: the guard sees the rise before any verdict
        // is due even when a loaded machine (the whole suite on two cores) delays rounds.
        monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 8, success_threshold: 1 },
        manager: { sweep_interval: 0.2, stall_grace: 0.2 },
        guard: { min_failing: 5, window: 1, interval: 0.05, recovery_grace: 0.5 },
      },
    });
    for (let i = 0; i < VIMS; i++) {
      const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: `iso-${i}` }) } });
      expect(created.status, created.text).toBe(201);
      ids.push(created.json.vim.id);
    }
    await waitFor('all REACHABLE', async () => ((await service.api('GET', '/v1.0/vims?status=REACHABLE&fields=id')).json.vims.length === VIMS ? true : undefined));
    // The guard takes a rise as sudden only against a baseline a whole window old (none in the first window).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  }, 30_000);
  afterAll(async () => {
    await service?.stop();
    await isolationHook.down();
    await statusHook.down();
  });

  it('shows the guard in GET /v1.0/manager and /v1.0/manager/isolation, normal at first', async () => {
    const manager = await service.api('GET', '/v1.0/manager');
    expect(manager.status).toBe(200);
    expect(manager.json.manager.isolation).toMatchObject({ state: 'normal', holding: false, acknowledged: false, cause: null, max_failing_share: 0.3, min_failing: 5, canaries: [] });
    const isolation = await service.api('GET', '/v1.0/manager/isolation');
    expect(isolation.status).toBe(200);
    expect(isolation.json.isolation.state).toBe('normal');
    expect((await service.api('GET', `/v1.0/vims/${ids[0]}/monitor`)).json.monitor.isolation).toBe('normal');
  });

  it('refuses bad acknowledgements with a 400 TackerError, and one while not isolated with a 409, changing nothing', async () => {
    for (const body of [{}, { isolation: {} }, { isolation: { acknowledged: 'yes' } }, { isolation: { acknowledged: true, extra: 1 } }, { acknowledged: true }]) {
      const response = await service.api('PUT', '/v1.0/manager/isolation', { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.json.TackerError.type).toBeDefined();
    }
    const malformed = await service.api('PUT', '/v1.0/manager/isolation', { rawBody: '{"isolation":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    const conflict = await service.api('PUT', '/v1.0/manager/isolation', { body: { isolation: { acknowledged: true } } });
    expect(conflict.status).toBe(409);
    expect(conflict.json.TackerError).toMatchObject({ type: 'Conflict', message: expect.stringContaining('not isolated') });
    expect((await service.api('GET', '/v1.0/manager/isolation')).json.isolation).toMatchObject({ state: 'normal', acknowledged: false });
  });

  it('lets an administrator subscribe to ISOLATION events', async () => {
    const iso = await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: isolationHook.url, filter: { event_types: ['ISOLATION'] } } } });
    expect(iso.status, iso.text).toBe(201);
    const status = await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: statusHook.url } } });
    expect(status.status, status.text).toBe(201);
  });

  it('holds every verdict when all VIMs fail at once, says so everywhere, and sends one monitor.isolated to its subscriber only', async () => {
    probe.set('*', 'fail');
    await waitFor('isolated', async () => ((await service.api('GET', '/v1.0/manager/isolation')).json.isolation.state === 'isolated' ? true : undefined), 5_000);
    // Past the thresholds (8 rounds of 0.2 s): the verdicts are due, and held.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await service.api('GET', '/v1.0/vims?status=UNREACHABLE&fields=id')).json.vims).toHaveLength(0);

    const monitor = (await service.api('GET', `/v1.0/vims/${ids[0]}/monitor`)).json.monitor;
    expect(monitor).toMatchObject({ status: 'REACHABLE', isolation: 'isolated', held: { reason: expect.stringMatching(/^worker isolated/) } });
    expect((await service.api('GET', '/v1.0/manager')).json.manager.isolation).toMatchObject({ state: 'isolated', holding: true, cause: 'failing_share' });

    // Listed when asked for, as a worker's event; the default listing stays one of VIM events.
    const listed = (await service.api('GET', '/v1.0/events?event_type=ISOLATION')).json.events;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      resource_type: 'worker',
      resource_state: 'ISOLATED',
      event_type: 'ISOLATION',
      tenant_id: '',
      event_details: { old_state: 'NORMAL', new_state: 'ISOLATED', cause: 'failing_share' },
    });
    expect(listed[0].resource_id).toBe(listed[0].resource_name);
    const all = (await service.api('GET', '/v1.0/events?limit=1000')).json.events as Array<{ event_type: string; resource_type: string }>;
    expect(all.every((e) => e.resource_type === 'vim' && e.event_type !== 'ISOLATION')).toBe(true);
    const openapi = (await service.api('GET', '/v1.0/openapi')).json;
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'openapi', components: openapi.components });
    const validate = ajv.compile({ $ref: 'openapi#/components/schemas/VimEvent' });
    expect(validate(listed[0]) ? [] : validate.errors).toEqual([]);
    const validateIsolation = ajv.compile({ $ref: 'openapi#/components/schemas/WorkerIsolation' });
    const shown = (await service.api('GET', '/v1.0/manager/isolation')).json.isolation;
    expect(validateIsolation(shown) ? [] : validateIsolation.errors).toEqual([]);
    const validateMonitor = ajv.compile({ $ref: 'openapi#/components/schemas/Monitor' });
    expect(validateMonitor(monitor) ? [] : validateMonitor.errors).toEqual([]);

    await waitFor('the isolation webhook', () => (isolationHook.received.length >= 1 ? true : undefined), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(isolationHook.received).toHaveLength(1);
    expect(JSON.parse(isolationHook.received[0]!.body).event).toMatchObject({ event_type: 'ISOLATION', resource_state: 'ISOLATED' });
    // The MONITOR subscriber got nothing: no VIM changed status.
    expect(statusHook.received).toHaveLength(0);
  }, 20_000);

  it('lets the held verdicts through once an administrator acknowledges, then ends the episode when the VIMs answer', async () => {
    const acked = await service.api('PUT', '/v1.0/manager/isolation', { body: { isolation: { acknowledged: true } } });
    expect(acked.status, acked.text).toBe(200);
    expect(acked.json.isolation).toMatchObject({ state: 'isolated', acknowledged: true, holding: false });
    await waitFor('all UNREACHABLE', async () => ((await service.api('GET', '/v1.0/vims?status=UNREACHABLE&fields=id')).json.vims.length === VIMS ? true : undefined), 5_000);
    await waitFor('12 status webhooks', () => (statusHook.received.length >= VIMS ? true : undefined), 5_000);

    probe.set('*', 'ok');
    await waitFor('normal', async () => ((await service.api('GET', '/v1.0/manager/isolation')).json.isolation.state === 'normal' ? true : undefined), 5_000);
    const events = (await service.api('GET', '/v1.0/events?event_type=ISOLATION')).json.events as Array<{ resource_state: string }>;
    expect(events.map((e) => e.resource_state)).toEqual(['ISOLATED', 'NORMAL']);
    await waitFor('the end webhook', () => (isolationHook.received.length >= 2 ? true : undefined), 5_000);
    expect(isolationHook.received).toHaveLength(2);
    // Withdrawing an acknowledgement is always accepted.
    expect((await service.api('PUT', '/v1.0/manager/isolation', { body: { isolation: { acknowledged: false } } })).status).toBe(200);
  }, 20_000);
});
