import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { vimRecord } from '../../test/support/probe-target.js';
import type { Condition } from '../health/condition.js';
import type { HealthChange, StatusChange } from '../monitors/status-change.js';
import { openStore, type Store } from './database.js';
import { EventRepository } from './event-repository.js';
import { migrateToLatest } from './migrate.js';
import { MonitorRepository } from './monitor-repository.js';
import { VimRepository } from './vim-repository.js';

const AT = '2026-11-30 10:00:00.000000';
const LATER = '2026-11-30 10:00:10.000000';

const condition = (type: Condition['type'], status: Condition['status'], at = AT): Condition => ({
  type,
  layer: type === 'NetworkReachable' ? 'network' : 'identity',
  status,
  severity: 'error',
  reason: `${type} ${status} — 東京`,
  since: at,
  last_checked: at,
});

describe.each(DIALECTS)('storing a VIM\'s conditions on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let monitors: MonitorRepository;
  let vims: VimRepository;
  let events: EventRepository;
  let vimId = '';
  let count = 0;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 4 });
    await migrateToLatest(store);
    monitors = new MonitorRepository(store);
    vims = new VimRepository(store);
    events = new EventRepository(store);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  async function newVim(): Promise<string> {
    count += 1;
    const vim = { ...vimRecord('openstack', 'http://127.0.0.1:5000/v3'), id: `00000000-0000-4000-8000-${String(count).padStart(12, '0')}`, name: `vim-${count}` };
    await vims.insert(vim);
    await monitors.assign(vim.id, `monitor-${count}`, 'worker', AT, false);
    return vim.id;
  }

  const healthChange = (overrides: Partial<HealthChange> = {}): HealthChange => ({
    vimId,
    vimName: `vim-${count}`,
    tenantId: 'admin',
    monitorId: `monitor-${count}`,
    status: 'REACHABLE',
    oldHealth: 'OK',
    newHealth: 'DOWN',
    failingLayer: 'identity',
    reason: 'identity failed: IdentityAPI: HTTP 503',
    conditions: [condition('NetworkReachable', 'True'), condition('IdentityAPI', 'False', LATER)],
    changed: ['IdentityAPI'],
    at: LATER,
    ...overrides,
  });

  it('stores the conditions and health with a status change, and a HEALTH event after the MONITOR one when they changed', async () => {
    vimId = await newVim();
    const change: StatusChange = {
      vimId,
      vimName: `vim-${count}`,
      tenantId: 'admin',
      monitorId: `monitor-${count}`,
      oldStatus: 'PENDING',
      newStatus: 'REACHABLE',
      reason: 'all probes succeeded',
      probes: {},
      at: AT,
      health: healthChange({ oldHealth: null, newHealth: 'OK', failingLayer: null, conditions: [condition('NetworkReachable', 'True')], changed: ['NetworkReachable'], at: AT }),
    };
    expect(await monitors.recordStatusChange(change)).toBe('written');
    const vim = (await vims.list({ ids: [vimId] }))[0]!;
    expect([vim.status, vim.health, vim.conditions, vim.capacity]).toEqual(['REACHABLE', 'OK', [condition('NetworkReachable', 'True')], null]);
    const stored = await events.list({ vimIds: [vimId], limit: 10 });
    expect(stored.map((e) => [e.event_type, e.old_status, e.new_status])).toEqual([
      ['MONITOR', 'PENDING', 'REACHABLE'],
      ['HEALTH', 'REACHABLE', 'REACHABLE'],
    ]);
  });

  it('stores a condition change without a status change, once: a retried write is stale and adds no event', async () => {
    expect(await monitors.recordHealthChange(healthChange())).toBe('written');
    expect(await monitors.recordHealthChange(healthChange())).toBe('stale');
    const vim = (await vims.list({ ids: [vimId] }))[0]!;
    expect([vim.status, vim.health]).toEqual(['REACHABLE', 'DOWN']);
    expect(vim.conditions).toEqual(healthChange().conditions);
    const health = await events.list({ vimIds: [vimId], eventTypes: ['HEALTH'], limit: 10 });
    expect(health).toHaveLength(2);
    expect(JSON.parse(health[1]!.detail)).toMatchObject({ old_health: 'OK', new_health: 'DOWN', failing_layer: 'identity', changed: ['IdentityAPI'] });
  });

  it('refuses a condition write from a monitor that no longer owns the VIM (fencing), storing nothing', async () => {
    const before = await events.maxId();
    expect(await monitors.recordHealthChange(healthChange({ monitorId: 'replaced-monitor', newHealth: 'OK', conditions: [] }))).toBe('fenced');
    expect((await vims.list({ ids: [vimId] }))[0]!.health).toBe('DOWN');
    expect(await events.maxId()).toBe(before);
  });

  it('stores the capacity the deep checks measured for the owning monitor only, with no event and no revision bump', async () => {
    const id = await newVim();
    const capacity = { resources: { VCPU: { total: 32, used: 10, free: 22 } }, checked_at: AT };
    const before = await events.maxId();
    expect(await monitors.recordCapacity(id, 'replaced-monitor', capacity)).toBe('fenced');
    expect((await vims.list({ ids: [id] }))[0]!.capacity).toBeNull();
    expect(await monitors.recordCapacity(id, `monitor-${count}`, capacity)).toBe('written');
    const vim = (await vims.list({ ids: [id] }))[0]!;
    expect([vim.capacity, vim.revision]).toEqual([capacity, 1]);
    expect(await events.maxId()).toBe(before);
  });
});
