import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { DatabaseUnavailableError, DuplicateDefaultVimError, DuplicateVimNameError } from '../errors.js';
import type { VimRecord } from '../vims/model.js';
import { openStore, type Store } from './database.js';
import { migrateToLatest } from './migrate.js';
import { VimRepository } from './vim-repository.js';

let counter = 0;
function record(overrides: Partial<VimRecord> = {}): VimRecord {
  counter += 1;
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    tenantId: 'tenant-a',
    name: `vim-${counter}`,
    description: 'édge site ☁️ 東京',
    type: 'openstack',
    authUrl: 'http://[fd00::1]:5000/v3',
    sealedAuthCred: { username: 'u', password: 'enc:v1:AAAA' },
    vimProject: { name: 'nfv', project_domain_name: 'Default' },
    isDefault: false,
    extra: { nested: { list: [1, 2, 3] } },
    status: 'PENDING',
    placementAttr: { regions: ['RegionOne'] },
    conditions: [],
    health: null,
    capacity: null,
    createdAt: `2026-01-01 00:00:${String(counter % 60).padStart(2, '0')}.000000`,
    updatedAt: null,
    revision: 1,
    monitorSettings: counter % 2 === 0 ? null : { interval: 5, probes: ['tcp'] },
    ...overrides,
  };
}

describe.each(DIALECTS)('the VIM store on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let repository: VimRepository;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 4 });
    await migrateToLatest(store);
    repository = new VimRepository(store);
  });

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('applies migrations once and then reports nothing to apply', async () => {
    expect((await migrateToLatest(store)).applied).toEqual([]);
  });

  it('stores a VIM and reads back every field unchanged, including unicode and nested JSON', async () => {
    const vim = record();
    await repository.insert(vim);
    expect(await repository.findById(vim.id)).toEqual(vim);
  });

  it('returns undefined for an unknown id', async () => {
    expect(await repository.findById('no-such-id')).toBeUndefined();
  });

  it('refuses a second VIM with the same name in one tenant but allows it in another', async () => {
    const first = record({ name: 'same-name' });
    await repository.insert(first);
    await expect(repository.insert(record({ name: 'same-name' }))).rejects.toBeInstanceOf(DuplicateVimNameError);
    await repository.insert(record({ name: 'same-name', tenantId: 'tenant-b' }));
  });

  it('refuses a second default VIM in one tenant but allows one per tenant', async () => {
    await repository.insert(record({ tenantId: 'tenant-d', isDefault: true }));
    await expect(repository.insert(record({ tenantId: 'tenant-d', isDefault: true }))).rejects.toBeInstanceOf(
      DuplicateDefaultVimError,
    );
    await repository.insert(record({ tenantId: 'tenant-e', isDefault: true }));
    expect((await repository.findDefault('tenant-d'))?.tenantId).toBe('tenant-d');
  });

  it('lets exactly one of several concurrent inserts of the same name win', async () => {
    const attempts = await Promise.allSettled(
      Array.from({ length: 6 }, () => repository.insert(record({ name: 'raced', tenantId: 'tenant-race' }))),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    for (const failed of attempts.filter((a) => a.status === 'rejected')) {
      expect((failed as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateVimNameError);
    }
  });

  it('filters lists by tenant, id, name, type, status and default flag', async () => {
    const k8s = record({ tenantId: 'tenant-f', type: 'kubernetes', name: 'k' });
    const os = record({ tenantId: 'tenant-f', name: 'o', isDefault: true });
    await repository.insert(k8s);
    await repository.insert(os);
    const ids = (vims: VimRecord[]) => vims.map((v) => v.id).sort();
    expect(ids(await repository.list({ tenantIds: ['tenant-f'] }))).toEqual([k8s.id, os.id].sort());
    expect(ids(await repository.list({ tenantIds: ['tenant-f'], types: ['kubernetes'] }))).toEqual([k8s.id]);
    expect(ids(await repository.list({ names: ['k', 'o'], tenantIds: ['tenant-f'] }))).toEqual([k8s.id, os.id].sort());
    expect(ids(await repository.list({ ids: [os.id] }))).toEqual([os.id]);
    expect(ids(await repository.list({ tenantIds: ['tenant-f'], isDefault: true }))).toEqual([os.id]);
    expect(ids(await repository.list({ tenantIds: ['tenant-f'], statuses: ['REACHABLE'] }))).toEqual([]);
    expect(await repository.list({ tenantIds: [] })).toEqual([]);
  });

  it('updates only the given fields, bumps the revision and moves the default flag', async () => {
    const vim = record({ tenantId: 'tenant-u' });
    await repository.insert(vim);
    const updated = await repository.update(vim.id, vim.tenantId, vim.name, {
      name: 'renamed',
      isDefault: true,
      extra: { a: 1 },
      updatedAt: '2026-02-02 00:00:00.000000',
    });
    expect(updated).toMatchObject({ name: 'renamed', isDefault: true, extra: { a: 1 }, revision: 2, description: vim.description });
    expect((await repository.findDefault('tenant-u'))?.id).toBe(vim.id);
    await repository.update(vim.id, vim.tenantId, 'renamed', { isDefault: false, updatedAt: '2026-02-03 00:00:00.000000' });
    expect(await repository.findDefault('tenant-u')).toBeUndefined();
  });

  it('reports a rename onto an existing name as a duplicate and leaves the row unchanged', async () => {
    const a = record({ tenantId: 'tenant-r', name: 'a' });
    const b = record({ tenantId: 'tenant-r', name: 'b' });
    await repository.insert(a);
    await repository.insert(b);
    await expect(repository.update(b.id, b.tenantId, b.name, { name: 'a', updatedAt: '2026-02-02 00:00:00.000000' })).rejects.toBeInstanceOf(
      DuplicateVimNameError,
    );
    expect(await repository.findById(b.id)).toEqual(b);
  });

  it('deletes a VIM once and reports a second delete as nothing deleted', async () => {
    const vim = record();
    await repository.insert(vim);
    expect(await repository.delete(vim.id)).toBe(true);
    expect(await repository.delete(vim.id)).toBe(false);
    expect(await repository.update(vim.id, vim.tenantId, vim.name, { updatedAt: '2026-02-02 00:00:00.000000' })).toBeUndefined();
  });

  it('deletes the status history of a VIM with it, and only of that VIM', async () => {
    const [gone, kept] = [record(), record()];
    const row = (vimId: string, day: number) => ({
      vim_id: vimId, day, reachable_ms: 1, unreachable_ms: 0, pending_ms: 0, maintenance_reachable_ms: 0, maintenance_unreachable_ms: 0,
      condition_changes: 0, probes: '{}', updated_at_ms: 0,
    });
    for (const vim of [gone, kept]) {
      await repository.insert(vim);
      await store.db.insertInto('vim_history').values([row(vim.id, 20_000), row(vim.id, 20_001)]).execute();
    }
    expect(await repository.delete(gone.id)).toBe(true);
    const left = await store.db.selectFrom('vim_history').select(['vim_id', 'day']).where('vim_id', 'in', [gone.id, kept.id]).orderBy('day').execute();
    expect(left.map((entry) => [entry.vim_id, Number(entry.day)])).toEqual([[kept.id, 20_000], [kept.id, 20_001]]);
  });
});

describe('a store whose database server is down', () => {
  it.each([
    ['postgres', 'postgres://postgres@127.0.0.1:1/nowhere'],
    ['mysql', 'mysql://root@127.0.0.1:1/nowhere'],
  ])('reports %s being unreachable as DatabaseUnavailableError', async (_name, url) => {
    const store = openStore(url, { poolSize: 1 });
    try {
      await expect(new VimRepository(store).list({})).rejects.toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      await store.close();
    }
  });
});
