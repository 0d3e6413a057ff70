import type { Kysely, Migration } from 'kysely';

/**
 * Layered health (issue 10) on the VIM: its conditions (JSON list), the
 * derived health, and the capacity the deep checks measure (JSON, NULL until
 * measured). All NULL on existing VIMs until their monitor's next change.
 * Condition changes are stored in vim_events as event_type 'HEALTH' next to
 * the status changes ('MONITOR'), so that table needs no change.
 */
export const vimHealth: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('vims').addColumn('conditions', 'text').execute();
    await db.schema.alterTable('vims').addColumn('health', 'varchar(16)').execute();
    await db.schema.alterTable('vims').addColumn('capacity', 'text').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('vims').dropColumn('capacity').execute();
    await db.schema.alterTable('vims').dropColumn('health').execute();
    await db.schema.alterTable('vims').dropColumn('conditions').execute();
  },
};
