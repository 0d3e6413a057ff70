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
