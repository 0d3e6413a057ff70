import type { Kysely, Migration } from 'kysely';

/**
 * Several workers share the monitors: each worker heartbeats in `workers`,
 * and owns a monitor row by a lease it renews (`lease_until_ms`, epoch ms;
 * 0 means free to claim). Times are integers so that comparisons mean the
 * same on every dialect. Since 0011 the lease is the worker's heartbeat and
 * `lease_until_ms` is unused.
 */
export const workersAndLeases: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('workers')
      .addColumn('id', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('started_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('heartbeat_ms', 'bigint', (c) => c.notNull())
      .addColumn('serves_api', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.alterTable('vim_monitors').addColumn('lease_until_ms', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.createIndex('ix_vim_monitors_owner').on('vim_monitors').column('owner').execute();
    await db.schema.createIndex('ix_vim_monitors_lease').on('vim_monitors').column('lease_until_ms').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('ix_vim_monitors_lease').on('vim_monitors').execute();
    await db.schema.dropIndex('ix_vim_monitors_owner').on('vim_monitors').execute();
    await db.schema.alterTable('vim_monitors').dropColumn('lease_until_ms').execute();
    await db.schema.dropTable('workers').execute();
  },
};
