import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackInput } from '../../test/support/fixtures.js';
import { ForbiddenError, NotFoundError, VimNotFoundError } from '../errors.js';
import { SecretCipher } from '../secrets/cipher.js';
import { openStore, type Store } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { MonitorRepository } from '../store/monitor-repository.js';
import { VimRepository } from '../store/vim-repository.js';
import type { RequestContext, VimRecord } from '../vims/model.js';
import { VimRegistry } from '../vims/registry.js';
import { MonitorViewService } from './monitor-view.js';

const alice: RequestContext = { projectId: 'project-a', isAdmin: false };
const bob: RequestContext = { projectId: 'project-b', isAdmin: false };
const admin: RequestContext = { projectId: 'admin-project', isAdmin: true };

describe('the monitor view service', () => {
  let store: Store;
  let view: MonitorViewService;
  let mine: VimRecord;
  let theirs: VimRecord;

  beforeAll(async () => {
    store = openStore('sqlite::memory:');
    await migrateToLatest(store);
    const registry = new VimRegistry({ repository: new VimRepository(store), cipher: new SecretCipher(randomBytes(32)), clock: { now: () => new Date() } });
    const monitors = new MonitorRepository(store);
    mine = await registry.create(alice, openstackInput('a-1'));
    theirs = await registry.create(bob, openstackInput('b-1'));
    // Monitors run by another worker: this process has no manager, so the rows are what it shows.
    await monitors.assign(mine.id, 'monitor-a', 'worker-2', '2026-01-01 00:00:00.000000', false);
    await monitors.assign(theirs.id, 'monitor-b', 'worker-2', '2026-01-01 00:00:00.000000', false);
    view = new MonitorViewService({ registry, monitors });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('shows a member the monitor of its own VIM and reports another project one as not found', async () => {
    expect(await view.get(alice, mine.id)).toMatchObject({ vim_id: mine.id, monitor_id: 'monitor-a', owner: 'worker-2', state: 'remote' });
    await expect(view.get(alice, theirs.id)).rejects.toBeInstanceOf(VimNotFoundError);
    expect((await view.list(alice)).map((m) => m.vim_id)).toEqual([mine.id]);
  });

  it('shows an administrator every project monitors', async () => {
    expect((await view.get(admin, theirs.id)).monitor_id).toBe('monitor-b');
    expect(new Set((await view.list(admin)).map((m) => m.vim_id))).toEqual(new Set([mine.id, theirs.id]));
  });

  it('gives the manager statistics to an administrator only', () => {
    expect(() => view.stats(alice)).toThrow(ForbiddenError);
    expect(view.stats(admin)).toEqual({ enabled: false });
  });

  it('shows and takes isolation acknowledgements from an administrator only, and says 404 where no guard runs', () => {
    expect(() => view.isolation(alice)).toThrow(ForbiddenError);
    expect(() => view.acknowledgeIsolation(alice, true)).toThrow(ForbiddenError);
    expect(() => view.isolation(admin)).toThrow(NotFoundError);
    expect(() => view.acknowledgeIsolation(admin, true)).toThrow(NotFoundError);
  });
});
