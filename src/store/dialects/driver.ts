import { createRequire } from 'node:module';
import type { Dialect } from 'kysely';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

/** What a store operation's failure means, independent of the driver that raised it. */
export type DriverFailure =
  | { kind: 'unique'; constraint: string }
  | { kind: 'unavailable' }
  /** Out of disk (or of the space the database may use): writes fail until space is freed, reads still work. */
  | { kind: 'full' }
  | { kind: 'other' };

/**
 * Everything that differs between databases lives behind this interface, one
 * module per dialect, so that repositories contain no dialect checks.
 */
export interface DatabaseDriver {
  readonly name: DialectName;
  readonly dialect: Dialect;
  /** Whether SELECT … FOR UPDATE SKIP LOCKED exists (PostgreSQL, MariaDB ≥ 10.6, MySQL 8); SQLite serialises writers instead. */
  readonly rowLocks: boolean;
  /** Whether several processes may share this database (SQLite files are one process's only). */
  readonly shared: boolean;
  classify(error: unknown): DriverFailure;
  /** Releases connections/handles that Kysely's destroy() does not own. */
  close(): Promise<void>;
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Socket-level failures every network driver can surface. */
export const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

const requireClient = createRequire(import.meta.url);

/**
 * A network database's client library, loaded when a URL of its kind is
 * opened rather than when the service starts: a service on SQLite (the
 * default) never loads pg or mysql2, about 11 MB of RSS it would otherwise
 * carry for its whole life. Both are CommonJS, so loading stays synchronous.
 */
export function loadClientLibrary<T>(name: 'pg' | 'mysql2'): T {
  return requireClient(name) as T;
}
