import type * as PgModule from 'pg';
import { PostgresDialect } from 'kysely';
import { errorCode, loadClientLibrary, NETWORK_ERROR_CODES, type DatabaseDriver, type DriverFailure } from './driver.js';

export interface NetworkDriverOptions {
  poolSize: number;
  /** Called for errors on idle connections, which would otherwise crash the process. */
  onIdleError: (error: Error) => void;
}

export function createPostgresDriver(url: string, options: NetworkDriverOptions): DatabaseDriver {
  const pg = loadClientLibrary<typeof PgModule>('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    // Fail fast while the database is down so the API can answer 503 promptly.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', options.onIdleError);
  // A connection that dies while checked out but between queries emits 'error' on its client, where pg has no
  // listener: without this the process would crash. The query that uses it next fails and is handled as usual.
  pool.on('connect', (client) => client.on('error', options.onIdleError));
  return {
    name: 'postgres',
    dialect: new PostgresDialect({ pool }),
    rowLocks: true,
    shared: true,
    classify: classifyPostgresError,
    // Kysely's destroy() ends the pool.
    close: async () => undefined,
  };
}

function classifyPostgresError(error: unknown): DriverFailure {
  const code = errorCode(error) ?? '';
  if (code === '23505') {
    return { kind: 'unique', constraint: String((error as { constraint?: unknown }).constraint ?? '') };
  }
  // 53100 disk_full: the server (or the tablespace's file system) has no space left for the write.
  if (code === '53100') return { kind: 'full' };
  // Class 08 is connection exceptions, 57P0x are shutdowns/crash recovery, 53300 too many connections.
  if (NETWORK_ERROR_CODES.has(code) || code.startsWith('08') || code.startsWith('57P') || code === '53300') {
    return { kind: 'unavailable' };
  }
  const message = error instanceof Error ? error.message : '';
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
    return { kind: 'unavailable' };
  }
  return { kind: 'other' };
}
