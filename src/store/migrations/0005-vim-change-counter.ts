import type { Kysely, Migration } from 'kysely';

/**
 * One row counting every VIM insert, update and delete, bumped in the same
 * transaction as the change. A sweep reads this one row and re-reads every
 * VIM only when it moved: cheaper than comparing 10,000 revisions every few
 * seconds, and unlike updated_at it cannot miss two changes in one second.
 */
export const vimChangeCounter: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('vim_change_counter')
      // Always 1: the table holds exactly one row.
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('changes', 'bigint', (c) => c.notNull())
      .execute();
    await db
      .withTables<{ vim_change_counter: { id: number; changes: number } }>()
      .insertInto('vim_change_counter')
      .values({ id: 1, changes: 0 })
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('vim_change_counter').execute();
  },
};
