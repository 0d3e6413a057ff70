import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialects/driver.js';

/**
 * Maintenance windows (issue 11) and the notification hold both features of
 * "no false alarms" use:
 * - `maintenances`: one row per window; scope and schedule are JSON (the
 *   API bounds them), read whole into memory by every process.
 * - `vim_events.held_by`: NULL for an event receivers get; 'maintenance' or
 *   'flapping' for one stored while its VIM's notifications were held (the
 *   history and the API keep it, webhooks and AMQP skip it unless asked).
 * - `vims.notified_status`: NULL while receivers got every status change;
 *   otherwise the status they last got, set when a held status change is
 *   stored and cleared by the catch-up event (or the next unheld change), so
 *   "who still needs a catch-up" is derived from stored state, not memory.
 */
export function maintenanceAndHolds(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('maintenances')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('schedule', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(26)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ix_maintenances_tenant').on('maintenances').column('tenant_id').execute();
      await db.schema.alterTable('vim_events').addColumn('held_by', 'varchar(16)').execute();
      await db.schema.alterTable('vims').addColumn('notified_status', 'varchar(16)').execute();
      await db.schema.createIndex('ix_vims_notified_status').on('vims').column('notified_status').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      // MariaDB names the table of an index to drop; SQLite and PostgreSQL refuse the clause.
      const drop = db.schema.dropIndex('ix_vims_notified_status');
      await (dialect === 'mysql' ? drop.on('vims') : drop).execute();
      await db.schema.alterTable('vims').dropColumn('notified_status').execute();
      await db.schema.alterTable('vim_events').dropColumn('held_by').execute();
      await db.schema.dropTable('maintenances').execute();
    },
  };
}
