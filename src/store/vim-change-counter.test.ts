import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { vimRecord } from '../../test/support/probe-target.js';
import { DuplicateVimNameError } from '../errors.js';
import type { VimRecord } from '../vims/model.js';
import { openStore, type Store } from './database.js';
import { migrateToLatest } from './migrate.js';
import { migrationProvider } from './migrations/index.js';
import { MonitorRepository } from './monitor-repository.js';
import { VimRepository } from './vim-repository.js';

let serial = 0;
function record(overrides: Partial<VimRecord> = {}): VimRecord {
  serial += 1;
  return { ...vimRecord('openstack', 'http://127.0.0.1:5000/v3', { name: 'nfv' }), tenantId: 'tenant-c', name: `counted-${serial}`, ...overrides };
}

describe.each(DIALECTS)('the VIM change counter on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let vims: VimRepository;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 4 });
    await migrateToLatest(store);
    vims = new VimRepository(store);
  });

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  async function counter(): Promise<number> {
    const value = await vims.changeCounter();
    if (value === undefined) throw new Error('the change counter row is missing');
    return value;
  }

  it('moves by one with each insert, update and delete of a VIM, even within the same second', async () => {
    const vim = record();
    const start = await counter();
    await vims.insert(vim);
    expect(await counter()).toBe(start + 1);
    // Same updated_at twice: a timestamp would not tell these apart, the counter does.
    await vims.update(vim.id, vim.tenantId, vim.name, { description: 'one', updatedAt: '2026-01-02 00:00:00.000000' });
    await vims.update(vim.id, vim.tenantId, vim.name, { description: 'two', updatedAt: '2026-01-02 00:00:00.000000' });
    expect(await counter()).toBe(start + 3);
    expect(await vims.delete(vim.id)).toBe(true);
    expect(await counter()).toBe(start + 4);
  });

  it('does not move for writes that change nothing: a refused duplicate, an update or delete of a missing VIM', async () => {
    const vim = record({ name: 'taken' });
    await vims.insert(vim);
    const before = await counter();
    await expect(vims.insert(record({ name: 'taken' }))).rejects.toBeInstanceOf(DuplicateVimNameError);
    expect(await vims.update('no-such-vim', vim.tenantId, 'x', { description: 'x', updatedAt: '2026-01-02 00:00:00.000000' })).toBeUndefined();
    expect(await vims.delete('no-such-vim')).toBe(false);
    expect(await counter()).toBe(before);
  });

  it('does not move for status and placement writes of monitors, which change no revision', async () => {
    const vim = record();
    await vims.insert(vim);
    const monitors = new MonitorRepository(store);
    await monitors.assign(vim.id, 'monitor-1', 'worker-1', '2026-01-01 00:00:00.000000', false);
    const before = await counter();
    await monitors.setPlacement(vim.id, { regions: ['RegionOne'] });
    const outcome = await monitors.recordStatusChange({
      vimId: vim.id,
      vimName: vim.name,
      tenantId: vim.tenantId,
      monitorId: 'monitor-1',
      oldStatus: 'PENDING',
      newStatus: 'REACHABLE',
      reason: 'ok',
      probes: {},
      at: '2026-01-01 00:00:01.000000',
    });
    expect(outcome).toBe('written');
    expect(await counter()).toBe(before);
  });

  it('counts concurrent updates from several connections each once', async () => {
    const vim = record();
    await vims.insert(vim);
    const before = await counter();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => vims.update(vim.id, vim.tenantId, vim.name, { description: `d${i}`, updatedAt: '2026-01-02 00:00:00.000000' })),
    );
    expect(await counter()).toBe(before + 8);
  });

  it('is rolled back by migrating down and starts again from zero when migrated up', async () => {
    const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
    const down = await migrator.migrateTo('0004-subscriptions');
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => [r.migrationName, r.direction, r.status])).toContainEqual(['0005-vim-change-counter', 'Down', 'Success']);
    await expect(vims.changeCounter()).rejects.toThrow();
    expect((await migrateToLatest(store)).applied).toContain('0005-vim-change-counter');
    expect(await counter()).toBe(0);
    await vims.insert(record());
    expect(await counter()).toBe(1);
  });
});
