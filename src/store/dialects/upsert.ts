import { sql, type InsertQueryBuilder, type InsertResult } from 'kysely';
import type { DialectName } from './driver.js';

/**
 * INSERT … that replaces `columns` of the row already stored under the same
 * key. PostgreSQL and SQLite say ON CONFLICT (key) DO UPDATE with
 * `excluded.col`; MySQL/MariaDB say ON DUPLICATE KEY UPDATE with VALUES(col).
 */
export function replaceOnKey<DB, TB extends keyof DB & string>(
  dialect: DialectName,
  insert: InsertQueryBuilder<DB, TB, InsertResult>,
  key: readonly string[],
  columns: readonly string[],
): InsertQueryBuilder<DB, TB, InsertResult> {
  if (dialect === 'mysql') {
    const set = Object.fromEntries(columns.map((column) => [column, sql.raw(`VALUES(${column})`)]));
    return insert.onDuplicateKeyUpdate(set as never);
  }
  const set = Object.fromEntries(columns.map((column) => [column, sql.ref(`excluded.${column}`)]));
  return insert.onConflict((conflict) => conflict.columns(key as never).doUpdateSet(set as never));
}

/**
 * INSERT … that leaves the row already stored under the same key as it is
 * and fails on any other error. PostgreSQL and SQLite say ON CONFLICT (key)
 * DO NOTHING; MySQL/MariaDB have no such clause for one key, and INSERT
 * IGNORE would also swallow other errors (truncation, NULLs), so it sets the
 * key's first column to itself: ON DUPLICATE KEY UPDATE k = k.
 */
export function keepOnKey<DB, TB extends keyof DB & string>(
  dialect: DialectName,
  insert: InsertQueryBuilder<DB, TB, InsertResult>,
  key: readonly [string, ...string[]],
): InsertQueryBuilder<DB, TB, InsertResult> {
  if (dialect === 'mysql') return insert.onDuplicateKeyUpdate({ [key[0]]: sql.ref(key[0]) } as never);
  return insert.onConflict((conflict) => conflict.columns(key as never).doNothing());
}
