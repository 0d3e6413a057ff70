import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { openStore, type Store } from './database.js';
import { LeaseRepository } from './lease-repository.js';
import { migrateToLatest } from './migrate.js';

const AT = '2026-01-01 00:00:00.000000';
const NOW = 1_000_000;

describe.each(DIALECTS)('claiming monitor rows on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let leases: LeaseRepository;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 4 });
    await migrateToLatest(store);
    leases = new LeaseRepository(store);
  });

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  /** Rows: free, mine lapsed, mine live, another's lapsed, another's live. */
  beforeEach(async () => {
    await store.db.deleteFrom('vim_monitors').execute();
    const rows = [
      ['free', '', 0],
      ['mine-lapsed', 'me', NOW - 1],
      ['mine-live', 'me', NOW + 60_000],
      ['other-lapsed', 'other', NOW - 1],
      ['other-live', 'other', NOW + 60_000],
    ] as const;
    await store.db
      .insertInto('vim_monitors')
      .values(rows.map(([vimId, owner, lease]) => ({ vim_id: vimId, monitor_id: `m-${vimId}`, owner, dispatched_at: AT, lease_until_ms: lease })))
      .execute();
  });

  async function claimed(scope: 'lapsed' | 'others' | 'all'): Promise<string[]> {
    return (await leases.claim('me', NOW, NOW + 5_000, 100, AT, scope)).map((c) => c.vimId).sort();
  }

  it('takes free rows and lapsed leases, its own lapsed ones included, by default', async () => {
    expect(await claimed('lapsed')).toEqual(['free', 'mine-lapsed', 'other-lapsed']);
  });

  it('takes every row of another owner but never its own when claiming for a database no one else opens', async () => {
    expect(await claimed('others')).toEqual(['free', 'other-lapsed', 'other-live']);
    const mine = await store.db.selectFrom('vim_monitors').select(['vim_id', 'monitor_id']).where('vim_id', 'like', 'mine-%').orderBy('vim_id').execute();
    expect(mine).toEqual([
      { vim_id: 'mine-lapsed', monitor_id: 'm-mine-lapsed' },
      { vim_id: 'mine-live', monitor_id: 'm-mine-live' },
    ]);
  });

  it('takes every row, its own name included, at start-up on such a database', async () => {
    expect(await claimed('all')).toEqual(['free', 'mine-lapsed', 'mine-live', 'other-lapsed', 'other-live']);
    const owners = await store.db.selectFrom('vim_monitors').select('owner').distinct().execute();
    expect(owners).toEqual([{ owner: 'me' }]);
  });
});
