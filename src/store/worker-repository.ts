import { guardStore, type Store } from './database.js';

/** Worker heartbeats: who is alive decides how many monitors each should own. */
export class WorkerRepository {
  constructor(private readonly store: Store) {}

  async heartbeat(id: string, startedAtMs: number, nowMs: number, servesApi: boolean): Promise<void> {
    await guardStore(this.store, async () => {
      const updated = await this.store.db.updateTable('workers').set({ heartbeat_ms: nowMs }).where('id', '=', id).executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) return;
      await this.store.db
        .insertInto('workers')
        .values({ id, started_at_ms: startedAtMs, heartbeat_ms: nowMs, serves_api: servesApi ? 1 : 0 })
        .execute();
    });
  }

  /** Workers whose last heartbeat is at or after `sinceMs`. */
  async live(sinceMs: number): Promise<string[]> {
    return guardStore(this.store, async () => {
      const rows = await this.store.db.selectFrom('workers').select('id').where('heartbeat_ms', '>=', sinceMs).orderBy('id').execute();
      return rows.map((row) => row.id);
    });
  }

  async remove(id: string): Promise<void> {
    await guardStore(this.store, () => this.store.db.deleteFrom('workers').where('id', '=', id).execute());
  }

  /** Forgets workers silent since before `beforeMs` (they died long ago). */
  async prune(beforeMs: number): Promise<void> {
    await guardStore(this.store, () => this.store.db.deleteFrom('workers').where('heartbeat_ms', '<', beforeMs).execute());
  }
}
