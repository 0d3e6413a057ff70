import type { CreateTableBuilder } from 'kysely';
import type { DialectName } from './driver.js';

/**
 * An auto-incrementing integer primary key named `id`. Each dialect spells it
 * differently (SQLite's rowid alias, PostgreSQL's identity, MySQL's
 * AUTO_INCREMENT); ordering events by it is what keeps them in write order.
 */
export function addIdentityColumn<T extends string>(table: CreateTableBuilder<T, never>, dialect: DialectName): CreateTableBuilder<T, 'id'> {
  switch (dialect) {
    case 'sqlite':
      return table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
    case 'postgres':
      return table.addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity());
    case 'mysql':
      return table.addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement());
  }
}
