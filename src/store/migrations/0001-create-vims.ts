import type { Kysely, Migration } from 'kysely';

/** The VIM registry. Column types are chosen to mean the same on all three dialects. */
export const createVims: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('vims')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('type', 'varchar(32)', (c) => c.notNull())
      .addColumn('auth_url', 'text', (c) => c.notNull())
      .addColumn('auth_cred', 'text', (c) => c.notNull())
      .addColumn('vim_project', 'text', (c) => c.notNull())
      .addColumn('is_default', 'integer', (c) => c.notNull())
      .addColumn('default_tenant', 'varchar(64)')
      .addColumn('extra', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('placement_attr', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(26)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(26)')
      .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
      .execute();
    await db.schema.createIndex('uq_vims_tenant_name').on('vims').columns(['tenant_id', 'name']).unique().execute();
    await db.schema.createIndex('uq_vims_default_tenant').on('vims').column('default_tenant').unique().execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('vims').execute();
  },
};
