import type { MaintenanceScope, MaintenanceWindow } from '../maintenance/window.js';
import type { Schedule } from '../maintenance/schedule.js';
import { guardStore, type Store } from './database.js';

/** All SQL about maintenance windows. Rows are few (bounded per tenant by the service) and read whole. */
export class MaintenanceRepository {
  constructor(private readonly store: Store) {}

  async insert(window: MaintenanceWindow): Promise<void> {
    await guardStore(this.store, () =>
      this.store.db
        .insertInto('maintenances')
        .values({
          id: window.id,
          tenant_id: window.tenantId,
          reason: window.reason,
          scope: JSON.stringify(window.scope),
          schedule: JSON.stringify(window.schedule),
          created_at: window.createdAt,
        })
        .execute(),
    );
  }

  async list(): Promise<MaintenanceWindow[]> {
    const rows = await guardStore(this.store, () => this.store.db.selectFrom('maintenances').selectAll().orderBy('created_at').orderBy('id').execute());
    return rows.map((row) => ({
      id: row.id,
      tenantId: row.tenant_id,
      reason: row.reason,
      scope: JSON.parse(row.scope) as MaintenanceScope,
      schedule: JSON.parse(row.schedule) as Schedule,
      createdAt: row.created_at,
    }));
  }

  async countOf(tenantId: string): Promise<number> {
    const row = await guardStore(this.store, () =>
      this.store.db.selectFrom('maintenances').select((eb) => eb.fn.countAll().as('count')).where('tenant_id', '=', tenantId).executeTakeFirst(),
    );
    return Number(row?.count ?? 0);
  }

  /** True when a row was deleted. */
  async delete(id: string): Promise<boolean> {
    const result = await guardStore(this.store, () => this.store.db.deleteFrom('maintenances').where('id', '=', id).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }
}
