import type * as Mysql2Module from 'mysql2';
import { MysqlDialect } from 'kysely';
import { errorCode, loadClientLibrary, NETWORK_ERROR_CODES, type DatabaseDriver, type DriverFailure } from './driver.js';
import type { NetworkDriverOptions } from './postgres.js';

/** `mysql://` or `mariadb://` (the same wire protocol). */
export function createMysqlDriver(url: string, options: NetworkDriverOptions): DatabaseDriver {
  const { createPool } = loadClientLibrary<typeof Mysql2Module>('mysql2');
  const pool = createPool({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: options.poolSize,
    connectTimeout: 5_000,
    charset: 'utf8mb4',
    timezone: 'Z',
    supportBigNumbers: true,
  });
  pool.on('connection', (connection) => {
    connection.on('error', options.onIdleError);
  });
  return {
    name: 'mysql',
    dialect: new MysqlDialect({ pool }),
    rowLocks: true,
    shared: true,
    classify: classifyMysqlError,
    close: async () => undefined,
  };
}

function classifyMysqlError(error: unknown): DriverFailure {
  const code = errorCode(error) ?? '';
  if (code === 'ER_DUP_ENTRY') {
    // "Duplicate entry 'x' for key 'uq_vims_tenant_name'": the key name is the constraint.
    return { kind: 'unique', constraint: error instanceof Error ? error.message : '' };
  }
  if (isStorageFull(error)) return { kind: 'full' };
  if (
    NETWORK_ERROR_CODES.has(code) ||
    code === 'PROTOCOL_CONNECTION_LOST' ||
    code === 'ER_CON_COUNT_ERROR' ||
    code === 'ER_SERVER_SHUTDOWN' ||
    code === 'PROTOCOL_SEQUENCE_TIMEOUT' ||
    (typeof error === 'object' && error !== null && (error as { fatal?: unknown }).fatal === true)
  ) {
    return { kind: 'unavailable' };
  }
  return { kind: 'other' };
}

/** errno of the server's error packet (mysql2 puts it in `errno`). */
const ER_DISK_FULL = 1021;
const ER_RECORD_FILE_FULL = 1114;
const ER_GET_ERRNO = 1030;
const ER_ERROR_ON_WRITE = 3;
/** The operating system's ENOSPC, which the server quotes inside ER_GET_ERRNO / ER_ERROR_ON_WRITE. */
const ENOSPC = 28;

function isStorageFull(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const errno = (error as { errno?: unknown }).errno;
  if (errno === ER_DISK_FULL || errno === ER_RECORD_FILE_FULL) return true;
  if (errno !== ER_GET_ERRNO && errno !== ER_ERROR_ON_WRITE) return false;
  const message = error instanceof Error ? error.message : '';
  return new RegExp(`\\b(error|errno):? ${ENOSPC}\\b`, 'i').test(message);
}
