import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { openStore, type Store } from './database.js';
import { migrateToLatest } from './migrate.js';
import { migrationProvider } from './migrations/index.js';
import { SecretRepository } from './secret-repository.js';

describe.each(DIALECTS)('the secret key check on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 4 });
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('keeps the first of two key ids stored at the same time and tells both callers which one won', async () => {
    const secrets = new SecretRepository(store);
    const [a, b] = await Promise.all([secrets.adoptKeyId('aaaaaaaaaaaaaaaa', '2026-01-01 00:00:00.000000'), secrets.adoptKeyId('bbbbbbbbbbbbbbbb', '2026-01-01 00:00:00.000000')]);
    expect(a).toBe(b);
    expect((await secrets.keyCheck())?.keyId).toBe(a);
    expect(await store.db.selectFrom('secret_key_check').selectAll().execute()).toHaveLength(1);
  });

  it('refuses to move the key check from a key id it does not hold, changing nothing', async () => {
    const secrets = new SecretRepository(store);
    const stored = (await secrets.keyCheck())?.keyId;
    await expect(secrets.resealAll('cccccccccccccccc', 'dddddddddddddddd', (v) => v, '2026-01-01 00:00:00.000000')).rejects.toThrow(/another rotation ran meanwhile/);
    expect((await secrets.keyCheck())?.keyId).toBe(stored);
  });

  it('is removed by migrating down and created again, empty, by migrating up', async () => {
    const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
    const down = await migrator.migrateTo('0005-vim-change-counter');
    expect(down.results?.map((r) => [r.migrationName, r.status])).toContainEqual(['0006-secret-key-check', 'Success']);
    await expect(new SecretRepository(store).keyCheck()).rejects.toThrow();
    expect((await migrateToLatest(store)).applied).toContain('0006-secret-key-check');
    expect(await new SecretRepository(store).keyCheck()).toBeUndefined();
  });
});
