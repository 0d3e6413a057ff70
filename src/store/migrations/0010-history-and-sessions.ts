import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectName } from '../dialects/driver.js';

/**
 * Status history (issue 12) and browser sessions of the dashboard.
 *
 * `vim_history`: one row per VIM per UTC day, written by the VIM's owning
 * worker (src/history): the day's totals as plain columns, so that uptime
 * over many days is one SUM over a primary-key range of small rows.
 * `vim_history_hours`: the same day's 24 hourly entries, compressed
 * (src/history/codec.ts), in their own table so that reads of totals never
 * load them; deleted once older than `history.hourly_days` (the day then is
 * its daily rollup). Days older than `history.daily_days` are deleted from
 * both. Pruning goes by primary key, VIM by VIM (HistoryRepository), so
 * there is no index on `day` alone. Time that no row covers is unknown,
 * never up.
 *
 * `ui_sessions`: one row per dashboard login. The cookie holds a random
 * session id; only its SHA-256 is stored (a leaked table opens no session)
 * and the Keystone token is sealed like every stored secret.
 */
export function historyAndSessions(dialect: DialectName): Migration {
  const binary = sql.raw(dialect === 'postgres' ? 'bytea' : dialect === 'mysql' ? 'mediumblob' : 'blob');
  // SQLite keeps a table with a text primary key as a rowid table plus an index repeating the key; WITHOUT ROWID stores
  // the small day rows in the key's own b-tree (as InnoDB does), a copy of the 36-character VIM id less per row. Not the
  // ~650-byte rows of hours: written day by day across all VIMs they split the key's pages and fill them worse than the
  // index costs (docs/benchmark.md).
  const clustered = <T extends { modifyEnd(modifier: ReturnType<typeof sql>): T }>(table: T): T => (dialect === 'sqlite' ? table.modifyEnd(sql`WITHOUT ROWID`) : table);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('vim_history')
        .addColumn('vim_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('day', 'integer', (c) => c.notNull())
        .addColumn('reachable_ms', 'integer', (c) => c.notNull())
        .addColumn('unreachable_ms', 'integer', (c) => c.notNull())
        .addColumn('pending_ms', 'integer', (c) => c.notNull())
        .addColumn('maintenance_reachable_ms', 'integer', (c) => c.notNull())
        .addColumn('maintenance_unreachable_ms', 'integer', (c) => c.notNull())
        .addColumn('condition_changes', 'integer', (c) => c.notNull())
        .addColumn('probes', 'text', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_vim_history', ['vim_id', 'day'])
        .$call(clustered)
        .execute();
      await db.schema
        .createTable('vim_history_hours')
        .addColumn('vim_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('day', 'integer', (c) => c.notNull())
        .addColumn('hours', binary, (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_vim_history_hours', ['vim_id', 'day'])
        .execute();
      await db.schema
        .createTable('ui_sessions')
        .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('csrf_token', 'varchar(64)', (c) => c.notNull())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('project_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ix_ui_sessions_expires').on('ui_sessions').column('expires_at_ms').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('ui_sessions').execute();
      await db.schema.dropTable('vim_history_hours').execute();
      await db.schema.dropTable('vim_history').execute();
    },
  };
}
