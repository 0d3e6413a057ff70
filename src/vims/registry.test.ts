import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackInput } from '../../test/support/fixtures.js';
import { ForbiddenError, VimNotFoundError } from '../errors.js';
import { SecretCipher } from '../secrets/cipher.js';
import { openStore, type Store } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { VimRepository } from '../store/vim-repository.js';
import type { Clock } from '../time/clock.js';
import type { RequestContext } from './model.js';
import { VimRegistry } from './registry.js';

const alice: RequestContext = { projectId: 'project-a', userId: 'alice', isAdmin: false };
const bob: RequestContext = { projectId: 'project-b', userId: 'bob', isAdmin: false };
const admin: RequestContext = { projectId: 'admin-project', userId: 'root', isAdmin: true };

const input = openstackInput;

describe('the VIM registry', () => {
  let store: Store;
  let registry: VimRegistry;
  let now = new Date('2026-03-04T05:06:07.089Z');
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    store = openStore('sqlite::memory:');
    await migrateToLatest(store);
    registry = new VimRegistry({ repository: new VimRepository(store), cipher: new SecretCipher(randomBytes(32)), clock });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('stamps creation and update times from the injected clock in Tacker format', async () => {
    const vim = await registry.create(alice, input('clocked'));
    expect(vim.createdAt).toBe('2026-03-04 05:06:07.089000');
    now = new Date('2026-03-04T06:00:00.000Z');
    expect((await registry.update(alice, vim.id, { description: 'x' })).updatedAt).toBe('2026-03-04 06:00:00.000000');
  });

  it('shows a member only the VIMs of their own project', async () => {
    const mine = await registry.create(alice, input('a-1'));
    const theirs = await registry.create(bob, input('b-1'));
    const names = (await registry.list(alice, {})).map((v) => v.name);
    expect(names).toContain('a-1');
    expect(names).not.toContain('b-1');
    expect(await registry.list(alice, { tenantIds: ['project-b'] })).toEqual([]);
    expect((await registry.get(alice, mine.id)).id).toBe(mine.id);
    await expect(registry.get(alice, theirs.id)).rejects.toBeInstanceOf(VimNotFoundError);
  });

  it('reports another project VIM as not found on update and delete, and leaves it alone', async () => {
    const theirs = await registry.create(bob, input('b-2'));
    await expect(registry.update(alice, theirs.id, { name: 'stolen' })).rejects.toBeInstanceOf(VimNotFoundError);
    await expect(registry.delete(alice, theirs.id)).rejects.toBeInstanceOf(VimNotFoundError);
    expect((await registry.get(bob, theirs.id)).name).toBe('b-2');
  });

  it('lets a member register only in their own project but an administrator in any', async () => {
    await expect(registry.create(alice, input('x', { tenantId: 'project-b' }))).rejects.toBeInstanceOf(ForbiddenError);
    const placed = await registry.create(admin, input('placed', { tenantId: 'project-b' }));
    expect(placed.tenantId).toBe('project-b');
    expect((await registry.get(bob, placed.id)).name).toBe('placed');
  });

  it('shows an administrator every project VIMs and honours a tenant filter', async () => {
    const tenants = new Set((await registry.list(admin, {})).map((v) => v.tenantId));
    expect(tenants).toEqual(new Set(['project-a', 'project-b']));
    expect((await registry.list(admin, { tenantIds: ['project-b'] })).every((v) => v.tenantId === 'project-b')).toBe(true);
  });

  it('lets an administrator update and delete another project VIM', async () => {
    const theirs = await registry.create(bob, input('b-3'));
    expect((await registry.update(admin, theirs.id, { description: 'by admin' })).description).toBe('by admin');
    await registry.delete(admin, theirs.id);
    await expect(registry.get(bob, theirs.id)).rejects.toBeInstanceOf(VimNotFoundError);
  });

  it('keeps credentials encrypted in the record and decrypts them only on request', async () => {
    const vim = await registry.create(alice, input('sealed'));
    expect(vim.sealedAuthCred.password).toMatch(/^enc:v2:[0-9a-f]{16}:/);
    expect(vim.sealedAuthCred.username).toBe('nfv_user');
    expect(registry.credentialsOf(vim).password).toBe('pw-not-shown');
  });
});
