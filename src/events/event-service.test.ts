import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/database.js';
import { EventRepository } from '../store/event-repository.js';
import { migrateToLatest } from '../store/migrate.js';
import type { RequestContext } from '../vims/model.js';
import { EventService } from './event-service.js';

const alice: RequestContext = { projectId: 'project-a', isAdmin: false };
const admin: RequestContext = { projectId: 'admin-project', isAdmin: true };

describe('the event service', () => {
  let store: Store;
  let events: EventService;

  beforeAll(async () => {
    store = openStore('sqlite::memory:');
    await migrateToLatest(store);
    // Written as the monitors write them; the VIM of project-b's second event has since been deleted.
    const row = (vimId: string, tenantId: string, at: string) => ({
      vim_id: vimId,
      tenant_id: tenantId,
      monitor_id: 'm',
      event_type: 'vim.status',
      old_status: 'PENDING',
      new_status: 'REACHABLE',
      reason: 'ok',
      detail: '{}',
      created_at: at,
    });
    await store.db
      .insertInto('vim_events')
      .values([
        row('vim-a', 'project-a', '2026-01-01 00:00:01.000000'),
        row('vim-b', 'project-b', '2026-01-01 00:00:02.000000'),
        row('gone-b', 'project-b', '2026-01-01 00:00:03.000000'),
        row('vim-a', 'project-a', '2026-01-01 00:00:04.000000'),
      ])
      .execute();
    events = new EventService(new EventRepository(store));
  });
  afterAll(async () => {
    await store?.close();
  });

  it('lists only a member project events, even when asked for another project VIM', async () => {
    expect((await events.list(alice, { limit: 100 })).map((e) => e.vim_id)).toEqual(['vim-a', 'vim-a']);
    expect(await events.list(alice, { vimIds: ['vim-b', 'gone-b'], limit: 100 })).toEqual([]);
  });

  it('lists every project events for an administrator', async () => {
    expect((await events.list(admin, { limit: 100 })).map((e) => e.tenant_id)).toEqual(['project-a', 'project-b', 'project-b', 'project-a']);
    expect((await events.list(admin, { vimIds: ['gone-b'], limit: 100 })).map((e) => e.vim_id)).toEqual(['gone-b']);
  });

  it('pages a member stream through its own events only, while the latest id counts every project', async () => {
    const latest = await events.latestId();
    expect(latest).toBe(4);
    expect((await events.page(alice, { afterId: 1, upToId: latest, limit: 10 })).map((e) => e.id)).toEqual([4]);
    expect((await events.page(admin, { afterId: 1, upToId: 3, limit: 10 })).map((e) => e.id)).toEqual([2, 3]);
  });
});
