import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialects/driver.js';
import { addIdentityColumn } from '../dialects/identity.js';

/**
 * Monitors (one row per VIM: the single truth of which monitor watches it),
 * the events of status changes, and per-VIM monitor settings.
 */
export function monitorsAndEvents(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('vims').addColumn('monitor_settings', 'text').execute();

      await db.schema
        .createTable('vim_monitors')
        .addColumn('vim_id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('monitor_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('owner', 'varchar(128)', (c) => c.notNull())
        .addColumn('dispatched_at', 'varchar(26)', (c) => c.notNull())
        .addColumn('replacements', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('ix_vim_monitors_monitor_id').on('vim_monitors').column('monitor_id').unique().execute();

      await addIdentityColumn(db.schema.createTable('vim_events'), dialect)
        .addColumn('vim_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('monitor_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('event_type', 'varchar(32)', (c) => c.notNull())
        .addColumn('old_status', 'varchar(16)', (c) => c.notNull())
        .addColumn('new_status', 'varchar(16)', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(26)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ix_vim_events_vim_id').on('vim_events').columns(['vim_id', 'id']).execute();
      await db.schema.createIndex('ix_vim_events_created_at').on('vim_events').column('created_at').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('vim_events').execute();
      await db.schema.dropTable('vim_monitors').execute();
      await db.schema.alterTable('vims').dropColumn('monitor_settings').execute();
    },
  };
}
