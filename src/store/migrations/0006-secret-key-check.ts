import type { Kysely, Migration } from 'kysely';

/**
 * The id of the key that seals the stored secrets (one row, id 1). Start-up
 * compares it with the configured key and refuses a missing or different
 * key instead of making a new one; rotation changes it in the same
 * transaction that re-seals the secrets. No row is inserted here: an
 * upgraded database adopts the key that opens its secrets at the next start.
 */
export const secretKeyCheck: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('secret_key_check')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('key_id', 'varchar(16)', (c) => c.notNull())
      // The key a `secrets rotate` printed but has not committed yet (secrets.key only): named in the start-up error.
      .addColumn('pending_key_id', 'varchar(16)')
      .addColumn('changed_at', 'varchar(26)', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('secret_key_check').execute();
  },
};
