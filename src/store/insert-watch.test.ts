import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from './database.js';
import { migrateToLatest } from './migrate.js';

describe('the insert watch of a store', () => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('calls a listener after each insert into its table, inside a transaction too, and not for other tables, updates or after it is removed', async () => {
    store = openStore('sqlite::memory:');
    await migrateToLatest(store);
    const calls: string[] = [];
    const unwatch = store.onInsert('vim_events', () => calls.push('vim_events'));
    const event = { vim_id: 'vim-1', vim_name: 'edge', tenant_id: 'admin', monitor_id: 'm', old_status: 'PENDING', new_status: 'REACHABLE', reason: 'r', detail: '{}', created_at: '2026-01-01 00:00:01.000000', event_type: 'MONITOR' };

    await store.db.insertInto('vim_events').values(event).execute();
    expect(calls).toEqual(['vim_events']);
    await store.db.transaction().execute((trx) => trx.insertInto('vim_events').values(event).execute());
    expect(calls).toHaveLength(2);
    await store.db.updateTable('vim_events').set({ reason: 'changed' }).execute();
    await store.db.insertInto('dead_letters').values({ subscription_id: 's', event_id: 1, attempts: 1, last_error: 'e', dead_at: '2026-01-01 00:00:02.000000' }).execute();
    expect(calls).toHaveLength(2);

    unwatch();
    await store.db.insertInto('vim_events').values(event).execute();
    expect(calls).toHaveLength(2);
  });
});
