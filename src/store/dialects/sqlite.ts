import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDialect, type Driver } from 'kysely';
import { lockSqliteFile } from './sqlite-lock.js';
import { errorCode, type DatabaseDriver, type DriverFailure } from './driver.js';

export interface SqliteOptions {
  /** Page cache of the connection, MiB. */
  cacheMb: number;
}

/** `sqlite:./data/x.db`, `sqlite:/abs/x.db` or `sqlite::memory:`. */
export function createSqliteDriver(url: string, options: SqliteOptions): DatabaseDriver {
  const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const unlock = file === ':memory:' ? () => undefined : lockSqliteFile(file);
  const database = new Database(file);
  // WAL lets readers proceed during a write; busy_timeout turns brief lock
  // contention into a wait instead of an error (the false-DOWN trap peers fell in).
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  // better-sqlite3 is built with a 16 MiB page cache (SQLite's own default is 2): filled by the start-up
  // read of every VIM and by history flushes, it held about 12 MB more resident memory at 10,000 VIMs (issue 13),
  // for pages the kernel's page cache serves to a miss in microseconds. A negative size is in KiB.
  database.pragma(`cache_size = ${-Math.round(options.cacheMb * 1024)}`);
  return {
    name: 'sqlite',
    dialect: new RollbackTolerantSqliteDialect(database),
    rowLocks: false,
    shared: false,
    classify: classifySqliteError,
    close: async () => {
      if (database.open) database.close();
      unlock();
    },
  };
}

/**
 * After SQLITE_FULL (and some I/O errors) SQLite has already rolled the
 * transaction back itself; Kysely's ROLLBACK then fails with "cannot rollback
 * - no transaction is active", and that error replaced the one that
 * mattered. Roll back only what is still open.
 */
class RollbackTolerantSqliteDialect extends SqliteDialect {
  constructor(private readonly database: Database.Database) {
    super({ database });
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const rollback = driver.rollbackTransaction.bind(driver);
    driver.rollbackTransaction = async (connection) => {
      if (this.database.inTransaction) await rollback(connection);
    };
    return driver;
  }
}

function classifySqliteError(error: unknown): DriverFailure {
  const code = errorCode(error) ?? '';
  if (code === 'SQLITE_FULL') return { kind: 'full' };
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // better-sqlite3 names the columns, not the index: "UNIQUE constraint failed: vims.tenant_id, vims.name".
    return { kind: 'unique', constraint: (error as Error).message };
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_IOERR') {
    return { kind: 'unavailable' };
  }
  return { kind: 'other' };
}
