import { Kysely } from 'kysely';
import { ConfigurationError, DatabaseUnavailableError, StorageFullError } from '../errors.js';
import type { DatabaseDriver, DialectName } from './dialects/driver.js';
import { createMysqlDriver } from './dialects/mysql.js';
import { createPostgresDriver } from './dialects/postgres.js';
import { createSqliteDriver } from './dialects/sqlite.js';
import { InsertWatch } from './insert-watch.js';
import type { DatabaseSchema } from './schema.js';

export interface Store {
  readonly db: Kysely<DatabaseSchema>;
  readonly driver: DatabaseDriver;
  readonly dialect: DialectName;
  /**
   * Calls `listener` after each insert into `table` made through this store (this process's writes only; see
   * InsertWatch). Returns the function that removes it.
   */
  onInsert(table: keyof DatabaseSchema & string, listener: () => void): () => void;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  poolSize?: number;
  /** SQLite page cache, MiB (database.sqlite_cache_mb). */
  sqliteCacheMb?: number;
  onIdleError?: (error: Error) => void;
}

export function openStore(url: string, options: OpenStoreOptions = {}): Store {
  const driver = createDriver(url, options);
  const inserts = new InsertWatch();
  const db = new Kysely<DatabaseSchema>({ dialect: driver.dialect, plugins: [inserts] });
  return {
    db,
    driver,
    dialect: driver.name,
    onInsert: (table, listener) => inserts.onInsert(table, listener),
    close: async () => {
      await db.destroy();
      await driver.close();
    },
  };
}

/** database.sqlite_cache_mb's default, for stores opened without the configuration (tools, tests). */
const SQLITE_CACHE_MB = 2;

function createDriver(url: string, options: OpenStoreOptions): DatabaseDriver {
  const network = { poolSize: options.poolSize ?? 10, onIdleError: options.onIdleError ?? (() => undefined) };
  if (url.startsWith('sqlite:')) return createSqliteDriver(url, { cacheMb: options.sqliteCacheMb ?? SQLITE_CACHE_MB });
  if (/^postgres(ql)?:\/\//.test(url)) return createPostgresDriver(url, network);
  if (/^(mysql|mariadb):\/\//.test(url)) return createMysqlDriver(url, network);
  throw new ConfigurationError('configuration key database.url must start with sqlite:, postgres://, mysql:// or mariadb://');
}

/** Redacts the password of a database URL for logs. */
export function describeDatabaseUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.split(':')[0] + '://(unparseable url)';
  }
}

/**
 * Runs a store operation and turns driver failures that mean "the database is
 * not there" into DatabaseUnavailableError (503) and "the database has no
 * space left" into StorageFullError (507); other errors pass through.
 */
export async function guardStore<T>(store: Store, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    const { kind } = store.driver.classify(error);
    if (kind === 'unavailable') throw new DatabaseUnavailableError({ cause: error });
    if (kind === 'full') throw new StorageFullError({ cause: error });
    throw error;
  }
}
