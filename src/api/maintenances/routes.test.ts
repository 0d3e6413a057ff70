/**
 * /v1.0/maintenances over HTTP (noauth: an administrator). Who may declare
 * what as a member is tested on the service (src/maintenance/service.test.ts);
 * here: the wire shape, and that bad input is a TackerError with nothing stored.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackVim } from '../../../test/support/fixtures.js';
import { startTestService, type TestService } from '../../../test/support/service.js';

describe('the maintenances API', () => {
  let service: TestService;
  let vimId = '';

  beforeAll(async () => {
    service = await startTestService();
    vimId = (await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'maintained' }) } })).json.vim.id;
  });
  afterAll(async () => {
    await service?.stop();
  });

  const post = (maintenance: Record<string, unknown>) => service.api('POST', '/v1.0/maintenances', { body: { maintenance } });
  const stored = async (): Promise<number> => (await service.api('GET', '/v1.0/maintenances')).json.maintenances.length;

  it('creates, shows, lists and deletes a one-off window, the VIM showing it while it is open', async () => {
    const end = new Date(Date.now() + 3_600_000).toISOString();
    const created = await post({ reason: 'router firmware', scope: { vim_ids: [vimId] }, end });
    expect(created.status, created.text).toBe(201);
    const window = created.json.maintenance;
    expect(window).toMatchObject({
      id: expect.any(String),
      tenant_id: 'admin',
      reason: 'router firmware',
      scope: { vim_ids: [vimId] },
      start: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/),
      end: `${end.slice(0, 10)} ${end.slice(11, 23)}000`,
      recurrence: null,
      open_now: { since: window.start, until: window.end },
    });
    expect((await service.api('GET', `/v1.0/maintenances/${window.id}`)).json.maintenance).toEqual(window);
    expect((await service.api('GET', '/v1.0/maintenances')).json.maintenances).toEqual([window]);
    expect((await service.api('GET', `/v1.0/vims/${vimId}?fields=maintenance`)).json.vim).toEqual({
      maintenance: { window_id: window.id, reason: 'router firmware', since: window.start, until: window.end },
    });

    expect((await service.api('DELETE', `/v1.0/maintenances/${window.id}`)).status).toBe(204);
    const gone = await service.api('GET', `/v1.0/maintenances/${window.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.TackerError).toMatchObject({ type: 'NotFound', message: `The maintenance window ${window.id} could not be found` });
    expect((await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.maintenance).toBeNull();
  });

  it('creates a weekly window in a time zone and shows it back as given', async () => {
    const created = await post({ reason: 'patch night', scope: { all: true }, recurrence: { days: ['sun', 'wed'], start_time: '02:30', duration: 90, time_zone: 'Europe/Paris' } });
    expect(created.status, created.text).toBe(201);
    expect(created.json.maintenance).toMatchObject({
      scope: { all: true },
      start: null,
      end: null,
      recurrence: { days: ['wed', 'sun'], start_time: '02:30', duration: 90, time_zone: 'Europe/Paris' },
    });
    expect((await service.api('DELETE', `/v1.0/maintenances/${created.json.maintenance.id}`)).status).toBe(204);
  });

  it('answers as the OpenAPI document says, with the maintenance attribute documented on VIMs, monitors and held events', async () => {
    const document = (await service.api('GET', '/v1.0/openapi')).json;
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'openapi', components: document.components });
    const validator = (path: string, method: string, status: string) =>
      ajv.compile(JSON.parse(JSON.stringify(document.paths[path][method].responses[status].content['application/json'].schema).replaceAll('"#/components/', '"openapi#/components/')) as object);
    const once = await post({ reason: 'documented', scope: { vim_ids: [vimId] } });
    const weekly = await post({ reason: 'weekly', scope: { tenant_id: 'admin' }, recurrence: { days: ['mon'], start_time: '00:00', duration: 10, time_zone: 'UTC' } });
    for (const [validate, body] of [
      [validator('/v1.0/maintenances', 'post', '201'), once.json],
      [validator('/v1.0/maintenances/{id}', 'get', '200'), (await service.api('GET', `/v1.0/maintenances/${weekly.json.maintenance.id}`)).json],
      [validator('/v1.0/maintenances', 'get', '200'), (await service.api('GET', '/v1.0/maintenances')).json],
      [validator('/v1.0/vims/{id}', 'get', '200'), (await service.api('GET', `/v1.0/vims/${vimId}`)).json],
    ] as const) {
      expect(validate(body) ? [] : validate.errors).toEqual([]);
    }
    expect((await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.maintenance).toMatchObject({ window_id: expect.any(String) });
    const components = document.components.schemas;
    expect(Object.keys(components.Monitor.properties)).toEqual(expect.arrayContaining(['maintenance', 'flapping']));
    expect(components.VimEvent.properties.held_by.enum).toEqual(['maintenance', 'flapping']);
    for (const id of [once.json.maintenance.id, weekly.json.maintenance.id]) await service.api('DELETE', `/v1.0/maintenances/${id}`);
  });

  it.each([
    ['end before start', { reason: 'r', scope: { vim_ids: ['V'] }, start: '2036-01-01 10:00:00', end: '2036-01-01 09:00:00' }, 400, 'maintenance.end must be after maintenance.start'],
    ['an end that does not exist', { reason: 'r', scope: { vim_ids: ['V'] }, end: '2036-02-30 10:00:00' }, 400, /maintenance\.end must be a real UTC timestamp/],
    ['an unknown VIM', { reason: 'r', scope: { vim_ids: ['00000000-0000-4000-8000-000000000000'] } }, 404, 'VIM 00000000-0000-4000-8000-000000000000 could not be found'],
    ['a bad time zone', { reason: 'r', scope: { vim_ids: ['V'] }, recurrence: { days: ['sun'], start_time: '02:30', duration: 60, time_zone: 'Europe/Atlantis' } }, 400, /IANA time zone/],
    ['a bad weekday', { reason: 'r', scope: { vim_ids: ['V'] }, recurrence: { days: ['sunday'], start_time: '02:30', duration: 60, time_zone: 'UTC' } }, 400, /must be one of mon, tue/],
    ['a bad time of day', { reason: 'r', scope: { vim_ids: ['V'] }, recurrence: { days: ['sun'], start_time: '25:00', duration: 60, time_zone: 'UTC' } }, 400, /HH:MM/],
    ['a week-long slot and more', { reason: 'r', scope: { vim_ids: ['V'] }, recurrence: { days: ['sun'], start_time: '02:00', duration: 10081, time_zone: 'UTC' } }, 400, /duration/],
    ['two scopes', { reason: 'r', scope: { vim_ids: ['V'], all: true } }, 400, /exactly one of vim_ids, tenant_id or all/],
    ['no reason', { scope: { vim_ids: ['V'] } }, 400, "Missing attribute 'maintenance.reason'"],
    ['an unknown attribute', { reason: 'r', scope: { vim_ids: ['V'] }, ends: 'tomorrow' }, 400, "Unrecognized attribute 'maintenance.ends'"],
    ['too many VIMs', { reason: 'r', scope: { vim_ids: Array.from({ length: 1001 }, (_, i) => `v${i}`) } }, 400, /must NOT have more than 1000 items/],
  ])('refuses %s with a TackerError and stores nothing', async (_what, body, status, message) => {
    const before = await stored();
    const withVim = JSON.parse(JSON.stringify(body).replaceAll('"V"', JSON.stringify(vimId))) as Record<string, unknown>;
    const response = await post(withVim);
    expect(response.status, response.text).toBe(status);
    expect(Object.keys(response.json)).toEqual(['TackerError']);
    if (typeof message === 'string') expect(response.json.TackerError.message).toBe(message);
    else expect(response.json.TackerError.message).toMatch(message);
    expect(await stored()).toBe(before);
  });

  it('refuses a subscription whose include_held filter is not a boolean', async () => {
    // The callback check needs a receiver: a bad filter is refused before it is tried.
    const bad = await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: 'http://127.0.0.1:9/x', filter: { include_held: 'yes' } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.TackerError.message).toMatch(/include_held/);
  });
});
