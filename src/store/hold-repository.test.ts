import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { vimRecord } from '../../test/support/probe-target.js';
import type { StatusChange } from '../monitors/status-change.js';
import type { VimStatus } from '../vims/model.js';
import { openStore, type Store } from './database.js';
import { EventRepository } from './event-repository.js';
import { HoldRepository, type PendingCatchUp } from './hold-repository.js';
import { migrateToLatest } from './migrate.js';
import { MonitorRepository } from './monitor-repository.js';
import { VimRepository } from './vim-repository.js';

const AT = '2026-11-30 10:00:00.000000';

describe.each(DIALECTS)('held status changes and their catch-up on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let monitors: MonitorRepository;
  let holds: HoldRepository;
  let events: EventRepository;
  let count = 0;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 4 });
    await migrateToLatest(store);
    monitors = new MonitorRepository(store);
    holds = new HoldRepository(store);
    events = new EventRepository(store);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  async function newVim(owner = 'worker-1'): Promise<string> {
    count += 1;
    const vim = { ...vimRecord('openstack', 'http://127.0.0.1:5000/v3'), id: `00000000-0000-4000-8000-${String(count).padStart(12, '0')}`, name: `vim-${count}` };
    await new VimRepository(store).insert(vim);
    await monitors.assign(vim.id, `monitor-${count}`, owner, AT, false);
    return vim.id;
  }

  const change = (vimId: string, oldStatus: VimStatus, newStatus: VimStatus, heldBy?: 'maintenance' | 'flapping'): StatusChange => ({
    vimId,
    vimName: `vim-${vimId.slice(-2)}`,
    tenantId: 'tenant',
    monitorId: `monitor-${Number(vimId.slice(-12))}`,
    oldStatus,
    newStatus,
    reason: `${oldStatus} to ${newStatus}`,
    probes: {},
    at: AT,
    ...(heldBy && { heldBy }),
  });

  const pendingOf = async (vimId: string): Promise<PendingCatchUp | undefined> => (await holds.pending('worker-1')).find((row) => row.vimId === vimId);

  it('stores a held change with its flag and remembers what receivers last got; an unheld one leaves nothing pending', async () => {
    const vimId = await newVim();
    expect(await monitors.recordStatusChange(change(vimId, 'PENDING', 'REACHABLE'))).toBe('written');
    expect(await pendingOf(vimId)).toBeUndefined();
    expect(await monitors.recordStatusChange(change(vimId, 'REACHABLE', 'UNREACHABLE', 'maintenance'))).toBe('written');
    expect(await monitors.recordStatusChange(change(vimId, 'UNREACHABLE', 'REACHABLE', 'maintenance'))).toBe('written');
    expect(await monitors.recordStatusChange(change(vimId, 'REACHABLE', 'UNREACHABLE', 'maintenance'))).toBe('written');
    // Three held changes: receivers still last got REACHABLE, the first one's old status.
    expect(await pendingOf(vimId)).toMatchObject({ status: 'UNREACHABLE', notifiedStatus: 'REACHABLE', monitorId: `monitor-${count}` });
    const stored = await events.list({ vimIds: [vimId], limit: 10 });
    expect(stored.map((e) => e.held_by)).toEqual([null, 'maintenance', 'maintenance', 'maintenance']);
    expect(await events.list({ vimIds: [vimId], excludeHeld: true, limit: 10 })).toHaveLength(1);
  });

  it('stores one catch-up event from what receivers got to the current status, once, and only for the owning monitor', async () => {
    const vimId = `00000000-0000-4000-8000-${String(count).padStart(12, '0')}`;
    const pending = (await pendingOf(vimId))!;
    const catchUp = { ...pending, monitorId: pending.monitorId, reason: 'maintenance ended: status is UNREACHABLE', detail: '{"probes":{}}', at: AT };
    const before = await events.maxId();
    expect(await holds.catchUp({ ...catchUp, monitorId: 'replaced-monitor' })).toBe('moved');
    expect(await events.maxId()).toBe(before);
    expect(await holds.catchUp(catchUp)).toBe('sent');
    expect(await holds.catchUp(catchUp)).toBe('moved');
    expect(await pendingOf(vimId)).toBeUndefined();
    const sent = await events.list({ vimIds: [vimId], excludeHeld: true, limit: 10 });
    expect(sent.map((e) => [e.old_status, e.new_status, e.reason, e.held_by])).toEqual([
      ['PENDING', 'REACHABLE', 'PENDING to REACHABLE', null],
      ['REACHABLE', 'UNREACHABLE', 'maintenance ended: status is UNREACHABLE', null],
    ]);
  });

  it('clears a hold whose VIM came back to what receivers got without an event, and leaves other workers\' VIMs to them', async () => {
    const vimId = await newVim();
    await monitors.recordStatusChange(change(vimId, 'PENDING', 'REACHABLE'));
    await monitors.recordStatusChange(change(vimId, 'REACHABLE', 'UNREACHABLE', 'flapping'));
    await monitors.recordStatusChange(change(vimId, 'UNREACHABLE', 'REACHABLE', 'flapping'));
    const pending = (await pendingOf(vimId))!;
    expect(pending).toMatchObject({ status: 'REACHABLE', notifiedStatus: 'REACHABLE' });
    const before = await events.maxId();
    expect(await holds.catchUp({ ...pending, reason: 'flapping over', detail: '{}', at: AT })).toBe('cleared');
    expect(await events.maxId()).toBe(before);

    const elsewhere = await newVim('worker-2');
    await monitors.recordStatusChange(change(elsewhere, 'PENDING', 'UNREACHABLE', 'maintenance'));
    expect(await pendingOf(elsewhere)).toBeUndefined();
    expect((await holds.pending('worker-2')).map((row) => row.vimId)).toEqual([elsewhere]);
  });

  it('refuses a catch-up whose status moved since it was read (compare and set)', async () => {
    const vimId = await newVim();
    await monitors.recordStatusChange(change(vimId, 'PENDING', 'REACHABLE'));
    await monitors.recordStatusChange(change(vimId, 'REACHABLE', 'UNREACHABLE', 'maintenance'));
    const pending = (await pendingOf(vimId))!;
    // An unheld change lands first: receivers got it, so nothing is pending any more.
    await monitors.recordStatusChange(change(vimId, 'UNREACHABLE', 'REACHABLE'));
    expect(await holds.catchUp({ ...pending, reason: 'late', detail: '{}', at: AT })).toBe('moved');
    expect(await pendingOf(vimId)).toBeUndefined();
  });
});
