import type { Kysely, Migration } from 'kysely';

/**
 * Confirmation from other vantage points (issue 11): before a VIM turns
 * UNREACHABLE its owner writes one row per worker it asks to probe the VIM
 * once; that worker finds the row by its own name (one indexed query per
 * poll), probes, and writes its answer in the row; the owner reads the
 * answers and deletes the rows. A worker's zone sits next to its heartbeat,
 * so the owner can prefer workers in other zones. Times are epoch ms.
 */
export const vimConfirmations: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('workers').addColumn('zone', 'varchar(64)').execute();
    await db.schema
      .createTable('vim_confirmations')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('vim_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('requester', 'varchar(128)', (c) => c.notNull())
      .addColumn('worker', 'varchar(128)', (c) => c.notNull())
      .addColumn('requested_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('deadline_ms', 'bigint', (c) => c.notNull())
      .addColumn('answered_at_ms', 'bigint')
      .addColumn('down', 'integer')
      .addColumn('reason', 'varchar(512)')
      .execute();
    await db.schema.createIndex('ix_vim_confirmations_worker').on('vim_confirmations').columns(['worker', 'answered_at_ms']).execute();
    await db.schema.createIndex('ix_vim_confirmations_requester').on('vim_confirmations').columns(['requester', 'answered_at_ms']).execute();
    await db.schema.createIndex('ix_vim_confirmations_requested').on('vim_confirmations').column('requested_at_ms').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('vim_confirmations').execute();
    await db.schema.alterTable('workers').dropColumn('zone').execute();
  },
};
