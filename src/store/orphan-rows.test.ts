/**
 * The sweep's two reads over every VIM: monitor rows for VIMs that have none
 * (created by an API-only process) and monitor rows whose VIM is gone. On
 * every dialect, since they are written with NOT EXISTS (a NOT IN subquery
 * took 10 s on a bloated PostgreSQL table at 10,000 VIMs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { vimRecord } from '../../test/support/probe-target.js';
import { openStore, type Store } from './database.js';
import { LeaseRepository } from './lease-repository.js';
import { migrateToLatest } from './migrate.js';
import { MonitorRepository } from './monitor-repository.js';
import { VimRepository } from './vim-repository.js';

const AT = '2026-12-01 10:00:00.000000';

describe.each(DIALECTS)('monitor rows that are missing or orphaned, on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 2 });
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('creates a free row for each VIM without one, and removes rows whose VIM is gone, touching no other', async () => {
    const vims = new VimRepository(store);
    const monitors = new MonitorRepository(store);
    const leases = new LeaseRepository(store);
    const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    for (const n of [1, 2, 3]) await vims.insert({ ...vimRecord('openstack', 'http://127.0.0.1:5000/v3'), id: id(n), name: `vim-${n}` });
    await monitors.assign(id(1), 'monitor-1', 'worker', AT, false);
    // A row whose VIM was deleted while no process ran.
    await store.db.insertInto('vim_monitors').values({ vim_id: id(9), monitor_id: 'monitor-9', owner: 'worker', dispatched_at: AT, lease_until_ms: 0 }).execute();

    expect(await leases.ensureRows(AT)).toBe(2);
    expect(await leases.ensureRows(AT)).toBe(0);
    expect(await monitors.removeOrphans()).toBe(1);
    expect(await monitors.removeOrphans()).toBe(0);
    const rows = await store.db.selectFrom('vim_monitors').select(['vim_id', 'monitor_id']).orderBy('vim_id').execute();
    expect(rows.map((row) => row.vim_id)).toEqual([id(1), id(2), id(3)]);
    expect(rows[0]!.monitor_id).toBe('monitor-1');
  });
});
