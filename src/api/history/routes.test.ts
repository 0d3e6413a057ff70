/**
 * Status history and uptime over HTTP, through the real API server over a
 * real SQLite store. Callers are told apart by a test authenticator (a member
 * of a project, or an administrator) so that tenant visibility is exercised
 * as under Keystone, without a Keystone server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Authenticator } from '../../auth/authenticator.js';
import { EventService } from '../../events/event-service.js';
import { SubscriptionService } from '../../events/subscriptions.js';
import { epochOfTackerTimestamp, HistoryReader } from '../../history/history-reader.js';
import { indexDays, uptimeOf, windowFigures } from '../../history/uptime.js';
import { presentUptime } from './presenter.js';
import { DAY_MS, HOUR_MS, emptyTotals, type HistoryDay, type PeriodTotals } from '../../history/model.js';
import { MonitorViewService } from '../../monitors/monitor-view.js';
import { SecretCipher } from '../../secrets/cipher.js';
import { openStore, type Store } from '../../store/database.js';
import { EventRepository } from '../../store/event-repository.js';
import { HistoryRepository } from '../../store/history-repository.js';
import { migrateToLatest } from '../../store/migrate.js';
import { MonitorRepository } from '../../store/monitor-repository.js';
import { SubscriptionRepository } from '../../store/subscription-repository.js';
import { VimRepository } from '../../store/vim-repository.js';
import type { Clock } from '../../time/clock.js';
import type { RequestContext, VimCreateInput, VimRecord } from '../../vims/model.js';
import { VimRegistry } from '../../vims/registry.js';
import { buildApiServer } from '../server.js';

const MINUTE = 60_000;
/** Today: 2026-12-01, day D; now 10:30 UTC. */
const D = Date.UTC(2026, 11, 1) / DAY_MS;
const at = (day: number, hours: number, minutes = 0): number => day * DAY_MS + hours * HOUR_MS + minutes * MINUTE;
const NOW = at(D, 10, 30);

/** `x-test-project: p` is a member of p; `x-test-admin: 1` an administrator. */
const testAuthenticator: Authenticator = {
  strategy: 'keystone',
  async authenticate(headers: IncomingHttpHeaders): Promise<RequestContext> {
    return { projectId: String(headers['x-test-project'] ?? 'admin'), isAdmin: headers['x-test-admin'] === '1' };
  },
};
const admin = { 'x-test-admin': '1' };
const memberOf = (project: string) => ({ 'x-test-project': project });

const icmp = { icmp: { checks: 360, failed: 0, p50: 0.5, p95: 1.25, max: 3 } };
const up = (ms: number, extra: Partial<PeriodTotals> = {}): PeriodTotals => ({ ...emptyTotals(), reachableMs: ms, probes: icmp, ...extra });

function storedDay(vimId: string, day: number, hours: Array<PeriodTotals | null>, updatedAtMs: number): HistoryDay {
  const totals = emptyTotals();
  for (const hour of hours) {
    if (!hour) continue;
    totals.reachableMs += hour.reachableMs;
    totals.unreachableMs += hour.unreachableMs;
    totals.maintenanceUnreachableMs += hour.maintenanceUnreachableMs;
    totals.conditionChanges += hour.conditionChanges;
  }
  return { ...totals, probes: icmp, vimId, day, hours, updatedAtMs };
}

const vimInput = (name: string): VimCreateInput => ({
  name,
  type: 'openstack',
  authUrl: 'http://127.0.0.1:5000',
  authCred: { username: 'nfv_user', password: 'pw-not-shown', user_domain_name: 'Default' },
  vimProject: { name: 'nfv', project_domain_name: 'Default' },
});

describe('the status history and uptime API', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let nowMs = at(D - 30, 0);
  const clock: Clock = { now: () => new Date(nowMs) };
  let registry: VimRegistry;
  let history: HistoryRepository;
  const monitors = () => new MonitorRepository(store);
  const vims: Record<string, VimRecord> = {};

  async function call(path: string, headers: Record<string, string> = admin): Promise<{ status: number; json: any }> {
    const response = await app.inject({ method: 'GET', url: path, headers });
    return { status: response.statusCode, json: response.json() };
  }
  async function storedRows(): Promise<string> {
    const rows = await store.db.selectFrom('vim_history').select(['vim_id', 'day', 'reachable_ms', 'updated_at_ms']).orderBy('vim_id').orderBy('day').execute();
    const vimRows = await store.db.selectFrom('vims').select(['id', 'revision']).orderBy('id').execute();
    return JSON.stringify([rows, vimRows]);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vim-monitor-history-api-'));
    store = openStore(`sqlite:${join(dir, 'test.db')}`, { poolSize: 1 });
    await migrateToLatest(store);
    const cipher = new SecretCipher(Buffer.alloc(32, 7));
    registry = new VimRegistry({ repository: new VimRepository(store), cipher, clock });
    history = new HistoryRepository(store);
    const monitors = new MonitorRepository(store);
    // Created 30 days ago (a, b of tenant-a; c of tenant-b), and one created today at 09:00.
    for (const [key, tenant] of [['a', 'tenant-a'], ['b', 'tenant-a'], ['c', 'tenant-b']] as const) {
      vims[key] = await registry.create({ projectId: tenant, isAdmin: false }, vimInput(`vim-${key}`));
      nowMs += MINUTE;
    }
    nowMs = at(D, 9);
    vims.fresh = await registry.create({ projectId: 'tenant-a', isAdmin: false }, vimInput('vim-fresh'));
    nowMs = NOW;
    for (const vim of Object.values(vims)) await monitors.assign(vim.id, `monitor-${vim.name}`, 'worker', '2026-11-01 00:00:00.000000', false);
    const a = vims.a as VimRecord;
    // a: yesterday up all day but hour 5 (down, inside maintenance); today up until the last write a minute ago.
    const yesterday = Array.from({ length: 24 }, (_, hour) =>
      hour === 5 ? { ...emptyTotals(), unreachableMs: HOUR_MS, maintenanceUnreachableMs: HOUR_MS, conditionChanges: 2 } : up(HOUR_MS),
    );
    const today = Array.from({ length: 24 }, (_, hour) => (hour < 10 ? up(HOUR_MS) : hour === 10 ? up(29 * MINUTE) : null));
    await history.save([
      { monitorId: `monitor-${a.name}`, day: storedDay(a.id, D - 1, yesterday, at(D, 0)) },
      { monitorId: `monitor-${a.name}`, day: storedDay(a.id, D, today, NOW - MINUTE) },
      // b: a day of history 10 days ago only, its hours pruned.
      { monitorId: 'monitor-vim-b', day: { ...storedDay((vims.b as VimRecord).id, D - 10, Array.from({ length: 24 }, () => up(HOUR_MS)), at(D - 9, 0)), hours: null } },
    ]);

    app = await buildApiServer({
      registry,
      authenticator: testAuthenticator,
      logger: pino({ level: 'silent' }),
      bodyLimit: 1_048_576,
      monitors: new MonitorViewService({ registry, monitors }),
      events: new EventService(new EventRepository(store)),
      subscriptions: new SubscriptionService({
        repository: new SubscriptionRepository(store),
        cipher,
        clock,
        policy: { allowLoopback: false, allowLinkLocal: false },
        dispatcher: new Agent(),
        timeoutMs: 1000,
      }),
      history: new HistoryReader({ registry, history, clock, flushIntervalMs: MINUTE }),
      clock,
      streamPollMs: 1000,
      streamSettleMs: 1000,
    });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the last 24 hours in hour buckets, unknown where nothing was stored, ending at the last write', async () => {
    const a = vims.a as VimRecord;
    const { status, json } = await call(`/v1.0/vims/${a.id}/history`);
    expect(status).toBe(200);
    const { history: answer } = json;
    expect(answer).toMatchObject({ vim_id: a.id, from: '2026-11-30T10:30:00Z', to: '2026-12-01T10:29:00Z', step: 'hour' });
    expect(answer.buckets).toHaveLength(25);
    expect(answer.buckets[0]).toEqual({
      start: '2026-11-30T10:30:00Z',
      end: '2026-11-30T11:00:00Z',
      reachable_s: 1800,
      unreachable_s: 0,
      pending_s: 0,
      unknown_s: 0,
      maintenance_s: 0,
      uptime: 1,
      condition_changes: 0,
      detail: 'hour',
      probes: { icmp: { checks: 180, failed: 0, latency_ms: { p50: 0.5, p95: 1.25, max: 3 } } },
    });
    expect(answer.buckets.at(-1)).toMatchObject({ start: '2026-12-01T10:00:00Z', end: '2026-12-01T10:29:00Z', reachable_s: 1740, unknown_s: 0 });
  });

  it('reports a gap and an hour inside maintenance as they were stored', async () => {
    const a = vims.a as VimRecord;
    const { json } = await call(`/v1.0/vims/${a.id}/history?from=2026-11-30T04:00:00Z&to=2026-11-30T07:00:00%2B00:00&step=hour`);
    expect(json.history.buckets.map((bucket: any) => [bucket.start, bucket.unreachable_s, bucket.maintenance_s, bucket.uptime, bucket.condition_changes])).toEqual([
      ['2026-11-30T04:00:00Z', 0, 0, 1, 0],
      ['2026-11-30T05:00:00Z', 3600, 3600, 0, 2],
      ['2026-11-30T06:00:00Z', 0, 0, 1, 0],
    ]);
    const before = await call(`/v1.0/vims/${a.id}/history?from=2026-11-29&to=2026-11-30&step=day`);
    expect(before.json.history.buckets).toEqual([expect.objectContaining({ reachable_s: 0, unknown_s: 86400, uptime: null, detail: 'none' })]);
  });

  it('chooses day buckets beyond seven days and marks pruned days', async () => {
    const b = vims.b as VimRecord;
    const { json } = await call(`/v1.0/vims/${b.id}/history?from=2026-11-20T00:00:00Z&to=2026-11-23T00:00:00Z&step=hour`);
    expect(json.history.buckets.filter((bucket: any) => bucket.detail === 'day')).toHaveLength(24);
    const days = await call(`/v1.0/vims/${b.id}/history?from=2026-11-01T00:00:00Z`);
    expect(days.json.history.step).toBe('day');
    expect(days.json.history.buckets.find((bucket: any) => bucket.start === '2026-11-21T00:00:00Z')).toMatchObject({ reachable_s: 86400, detail: 'day' });
  });

  it('answers uptime over a window, with maintenance excluded when asked', async () => {
    const a = vims.a as VimRecord;
    const plain = await call(`/v1.0/vims/${a.id}/uptime`);
    expect(plain.status).toBe(200);
    expect(plain.json.uptime).toEqual({
      vim_id: a.id,
      vim_name: 'vim-a',
      window: '24h',
      from: '2026-11-30T10:30:00Z',
      to: '2026-12-01T10:29:00Z',
      uptime: 1,
      reachable_s: 86340,
      unreachable_s: 0,
      pending_s: 0,
      unknown_s: 0,
      maintenance_s: 0,
      exclude_maintenance: false,
    });
    const week = (await call(`/v1.0/vims/${a.id}/uptime?window=7d`)).json.uptime;
    expect(week).toMatchObject({ from: '2026-11-24T10:30:00Z', unreachable_s: 3600, maintenance_s: 3600 });
    expect(week.uptime).toBeCloseTo((24 * 3600 - 3600 + 10 * 3600 + 29 * 60) / (24 * 3600 + 10 * 3600 + 29 * 60), 6);
    expect(week.unknown_s).toBe(7 * 86400 - 60 - (86400 + 10 * 3600 + 29 * 60));
    const excluded = (await call(`/v1.0/vims/${a.id}/uptime?window=7d&exclude_maintenance=true`)).json.uptime;
    expect(excluded).toMatchObject({ uptime: 1, exclude_maintenance: true });
  });

  it('counts only the time since creation for a VIM created today', async () => {
    const fresh = vims.fresh as VimRecord;
    const { json } = await call(`/v1.0/vims/${fresh.id}/uptime?window=30d`);
    expect(json.uptime).toMatchObject({ from: '2026-12-01T09:00:00Z', to: '2026-12-01T10:30:00Z', uptime: null, unknown_s: 5400 });
  });

  it('lists uptimes in the order of the VIM list, filtered and paged by limit and marker', async () => {
    const all = (await call('/v1.0/uptime?window=7d')).json.uptimes;
    const order = (await app.inject({ method: 'GET', url: '/v1.0/vims?fields=id', headers: admin })).json().vims.map((vim: any) => vim.id);
    expect(all.map((entry: any) => entry.vim_id)).toEqual(order);
    expect(all.every((entry: any) => entry.window === '7d')).toBe(true);
    const first = (await call('/v1.0/uptime?limit=2')).json.uptimes;
    const second = (await call(`/v1.0/uptime?limit=2&marker=${first[1].vim_id}`)).json.uptimes;
    expect([...first, ...second].map((entry: any) => entry.vim_id)).toEqual(order);
    const named = (await call('/v1.0/uptime?name=vim-a&name=vim-c')).json.uptimes;
    expect(named.map((entry: any) => entry.vim_name)).toEqual(['vim-a', 'vim-c']);
  });

  it('sums the whole days of a long window in SQL, with the figures of reading every day', async () => {
    const c = vims.c as VimRecord;
    // c: 30 days of flapping history, partly in maintenance, hours kept for the last 5 days only.
    const flapping = (day: number) =>
      Array.from({ length: 24 }, (_, hour) => {
        const down = ((day * 7 + hour * 3) % 11) * 311_000;
        return up(HOUR_MS - down, { unreachableMs: down, maintenanceUnreachableMs: hour === 3 ? down : 0, conditionChanges: down > 0 ? 2 : 0 });
      });
    const days: HistoryDay[] = [];
    for (let day = D - 29; day <= D; day += 1) {
      const hours = day === D ? flapping(day).map((hour, index) => (index < 10 ? hour : null)) : flapping(day);
      const stored = storedDay(c.id, day, hours, day === D ? NOW - MINUTE : (day + 1) * DAY_MS);
      days.push(day < D - 5 ? { ...stored, hours: null } : stored);
    }
    await history.save(days.map((day) => ({ monitorId: 'monitor-vim-c', day })));
    const sums = vi.spyOn(history, 'sums');
    const context = { createdAtMs: epochOfTackerTimestamp(c.createdAt), nowMs: NOW, flushIntervalMs: MINUTE };
    for (const [window, span] of [['7d', 7 * DAY_MS], ['30d', 30 * DAY_MS], ['90d', 90 * DAY_MS]] as const) {
      const everyDay = indexDays(await history.read([c.id], 0, D, { hours: true, probes: false }));
      const figures = windowFigures(everyDay, NOW - span, NOW, context);
      for (const exclude of [false, true]) {
        const expected = presentUptime({ vim: c, window, fromMs: figures.fromMs, toMs: figures.toMs, figures, uptime: uptimeOf(figures, exclude), excludeMaintenance: exclude });
        expect((await call(`/v1.0/vims/${c.id}/uptime?window=${window}&exclude_maintenance=${exclude}`)).json.uptime, `${window} ${exclude}`).toEqual(expected);
        expect((await call(`/v1.0/uptime?name=vim-c&window=${window}&exclude_maintenance=${exclude}`)).json.uptimes, `${window} ${exclude}`).toEqual([expected]);
      }
    }
    // 7d and 30d held whole days of c inside the window (90d started before c was created: its days were read).
    expect(sums.mock.calls.filter(([ids]) => ids.includes(c.id))).toHaveLength(8);
    expect((await call(`/v1.0/vims/${c.id}/uptime?window=30d`)).json.uptime.unreachable_s).toBeGreaterThan(0);
    sums.mockRestore();
  });

  it('shows a member only the uptimes of its own tenant', async () => {
    const mine = (await call('/v1.0/uptime', memberOf('tenant-a'))).json.uptimes;
    expect(mine.map((entry: any) => entry.vim_name).sort()).toEqual(['vim-a', 'vim-b', 'vim-fresh']);
    const asked = (await call('/v1.0/uptime?tenant_id=tenant-b', memberOf('tenant-a'))).json.uptimes;
    expect(asked).toEqual([]);
    const marker = await call(`/v1.0/uptime?marker=${(vims.c as VimRecord).id}`, memberOf('tenant-a'));
    expect(marker.status).toBe(400);
  });

  it('answers 404 for another tenant\'s VIM, exactly as GET /v1.0/vims/{id} does', async () => {
    const c = vims.c as VimRecord;
    const vim = await call(`/v1.0/vims/${c.id}`, memberOf('tenant-a'));
    expect(vim.status).toBe(404);
    for (const path of [`/v1.0/vims/${c.id}/history`, `/v1.0/vims/${c.id}/uptime`]) {
      const response = await call(path, memberOf('tenant-a'));
      expect(response).toEqual(vim);
    }
    expect((await call(`/v1.0/vims/${c.id}/uptime`, memberOf('tenant-b'))).status).toBe(200);
  });

  it.each([
    ['a window not in the list', '/uptime?window=1y', /window must be one of 24h, 7d, 30d, 90d/],
    ['exclude_maintenance not a boolean', '/uptime?exclude_maintenance=yes', /exclude_maintenance must be true or false/],
    ['an unknown parameter', '/uptime?windows=7d', /Unknown query parameter 'windows'/],
    ['from after to', '/history?from=2026-12-01T10:00:00Z&to=2026-12-01T09:00:00Z', /from must be before to/],
    ['from equal to to', '/history?from=2026-12-01T10:00:00Z&to=2026-12-01T10:00:00Z', /from must be before to/],
    ['an unparseable date', '/history?from=yesterday', /from must be an ISO 8601 date and time/],
    ['a date that does not exist', '/history?to=2026-02-30T10:00:00Z', /to must be an ISO 8601 date and time/],
    ['too many buckets', '/history?from=2026-08-01T00:00:00Z&step=hour', /holds 2939 hour buckets; at most 2200/],
    ['an invalid step', '/history?step=week', /step must be hour or day/],
  ])('refuses %s with a TackerError 400 and changes nothing', async (_what, suffix, message) => {
    const before = await storedRows();
    const response = await call(`/v1.0/vims/${(vims.a as VimRecord).id}${suffix}`);
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ TackerError: { type: 'HTTPBadRequest', message: expect.stringMatching(message), detail: '' } });
    expect(await storedRows()).toBe(before);
  });

  it.each([
    ['a limit of 0', '?limit=0', /limit must be between 1 and 1000/],
    ['a limit above 1000', '?limit=1001', /limit must be between 1 and 1000/],
    ['an unknown filter', '?colour=red', /Unknown query parameter 'colour'/],
    ['fields=', '?fields=id', /fields= does not apply/],
    ['an unknown marker', '?marker=nope', /marker \[nope\] not found/],
  ])('refuses a list with %s with a TackerError 400', async (_what, query, message) => {
    const response = await call(`/v1.0/uptime${query}`);
    expect(response.status).toBe(400);
    expect(response.json.TackerError.message).toMatch(message);
  });

  it('answers as the OpenAPI document says', async () => {
    const document = (await app.inject({ method: 'GET', url: '/v1.0/openapi', headers: admin })).json();
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'openapi', components: document.components });
    const validator = (path: string) =>
      ajv.compile(JSON.parse(JSON.stringify(document.paths[path].get.responses['200'].content['application/json'].schema).replaceAll('"#/components/', '"openapi#/components/')) as object);
    const a = (vims.a as VimRecord).id;
    for (const [path, url] of [
      ['/v1.0/vims/{id}/history', `/v1.0/vims/${a}/history`],
      ['/v1.0/vims/{id}/uptime', `/v1.0/vims/${a}/uptime?window=90d`],
      ['/v1.0/uptime', '/v1.0/uptime'],
    ] as const) {
      const validate = validator(path);
      const body = (await call(url)).json;
      expect(validate(body) ? [] : validate.errors, path).toEqual([]);
    }
    expect(document.components.schemas.HistoryBucket.properties.detail.enum).toEqual(['hour', 'day', 'none']);
  });

  it('forgets a VIM\'s history with the VIM', async () => {
    const b = vims.b as VimRecord;
    expect(await history.read([b.id], 0, D)).toHaveLength(1);
    await registry.delete({ projectId: 'tenant-a', isAdmin: false }, b.id);
    expect(await history.read([b.id], 0, D)).toEqual([]);
    expect((await call(`/v1.0/vims/${b.id}/history`)).status).toBe(404);
  });

  it('counts every stored second of a day written earlier in the current second', async () => {
    // Answers speak in whole seconds: a now rounded down ends the window before the last write, and a young VIM's
    // stored time is then cut pro rata (here 2 s down would read as 1 s).
    nowMs = NOW - 2000;
    const vim = await registry.create({ projectId: 'tenant-a', isAdmin: false }, vimInput('vim-sub-second'));
    await monitors().assign(vim.id, 'monitor-sub-second', 'worker', '2026-11-01 00:00:00.000000', false);
    const written = NOW + 990;
    const hours = Array.from({ length: 24 }, (_, hour) => (hour === 10 ? up(990, { unreachableMs: 2000 }) : null));
    await history.save([{ monitorId: 'monitor-sub-second', day: storedDay(vim.id, D, hours, written) }]);
    nowMs = NOW + 995;
    try {
      const { json } = await call(`/v1.0/vims/${vim.id}/uptime?window=24h`);
      expect(json.uptime).toMatchObject({ unreachable_s: 2, unknown_s: 0 });
    } finally {
      nowMs = NOW;
    }
  });
});
