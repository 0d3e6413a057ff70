import { createPool } from 'mysql2';
import { MysqlDialect } from 'kysely';
import { errorCode, NETWORK_ERROR_CODES, type DatabaseDriver, type DriverFailure } from './driver.js';
import type { NetworkDriverOptions } from './postgres.js';

/** `mysql://` or `mariadb://` (the same wire protocol). */
export function createMysqlDriver(url: string, options: NetworkDriverOptions): DatabaseDriver {
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
