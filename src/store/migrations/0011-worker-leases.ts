import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialects/driver.js';

/**
 * A lease per worker instead of one per monitor row. A monitor row belongs to
 * its `owner` for as long as that worker's `workers.heartbeat_ms` is younger
 * than `manager.lease_ttl`; a row is free to claim when `owner` is '' or names
 * no live worker. Heartbeats no longer rewrite every monitor row (N ÷ 2 row
 * writes a second, nine tenths of the database's writes at 10,000 VIMs).
 *
 * `vim_monitors.lease_until_ms` is no longer read or written (rows made from
 * now on keep its default 0; values earlier releases left mean nothing). The
 * column stays so that a rollback finds it; its index goes, since nothing
 * reads by it and every claim would keep it up to date. Counting an owner's
 * rows, each heartbeat, uses ix_vim_monitors_owner (0003).
 *
 * Workers of earlier releases renew per-row leases and would take every row
 * this release claims as lapsed: do not run both on one database.
 */
export function workerLeases(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // MariaDB names the table of an index to drop; SQLite and PostgreSQL refuse the clause.
      const drop = db.schema.dropIndex('ix_vim_monitors_lease');
      await (dialect === 'mysql' ? drop.on('vim_monitors') : drop).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('ix_vim_monitors_lease').on('vim_monitors').column('lease_until_ms').execute();
    },
  };
}
