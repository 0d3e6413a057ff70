import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder } from 'kysely';
import { guardStore, type Store } from './database.js';
import { keepOnKey } from './dialects/upsert.js';
import type { DatabaseSchema } from './schema.js';

export interface Claimed {
  vimId: string;
  monitorId: string;
}

const FREE = '';
/** Rows per statement: 500 rows are 1,500 parameters in a claim, far under every dialect's limit. */
const CHUNK = 500;

/** Which rows a claim may take. */
export type ClaimScope =
  /**
   * Free rows, and rows whose owner is not a live worker (no row in `workers` with a heartbeat at or after
   * `liveSinceMs`): the only safe choice where other workers share the database.
   */
  | 'lapsed'
  /**
   * As 'lapsed', but only rows of the workers `workers` lists with a stale heartbeat, not those of owners with no
   * row there (pruned after 10 × lease_ttl, stopped while their hand-back failed, a name from before an upgrade).
   * Both read indexes only, where 'lapsed' reads the whole table to find the owners with no row: every sweep of a
   * worker below its share claims, and most find nothing.
   */
  | 'lapsed-listed'
  /**
   * Every row of another owner, live ones too, never the claimer's own.
   * Only for a database no other process can open (a locked SQLite file):
   * there every other owner is a previous life of this service, and the
   * claimer's own worker row may be stale (nothing depends on it there).
   */
  | 'others'
  /** Every row, the claimer's own name included: at start-up on such a database, where a previous life may have run under the same worker name. */
  | 'all';

/**
 * Monitors are owned through their rows' `owner`, and an owner holds its
 * rows for as long as its heartbeat in `workers` is younger than lease_ttl:
 * one lease per worker, renewed by its heartbeat, not one per row (renewing
 * every row each heartbeat was nine tenths of the database's writes at
 * 10,000 VIMs, docs/benchmark.md). All the SQL of sharing work between
 * workers sits here: claiming free rows and those of dead workers under row
 * locks (FOR UPDATE SKIP LOCKED where the database has it, so that workers
 * claiming at once never block on or take the same rows), counting what an
 * owner holds, and handing rows back.
 */
export class LeaseRepository {
  constructor(
    private readonly store: Store,
    private readonly newMonitorId: () => string = randomUUID,
  ) {}

  /**
   * Monitor rows (free to claim) for VIMs that have none, e.g. created by an API-only process, a few multi-row
   * INSERTs that leave alone a row another worker made meanwhile. Returns the rows made (on MySQL/MariaDB a row a
   * concurrent creator made first counts too: its driver reports rows found, not changed).
   */
  async ensureRows(at: string): Promise<number> {
    return guardStore(this.store, async () => {
      const missing = await this.store.db
        .selectFrom('vims')
        .select('id')
        // NOT EXISTS, not NOT IN: PostgreSQL rescans a NOT IN subquery per row once it no longer expects it to fit
        // in memory (a bloated vim_monitors), 10 s at 10,000 VIMs.
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('vim_monitors').select('vim_monitors.vim_id').whereRef('vim_monitors.vim_id', '=', 'vims.id'))))
        .execute();
      let created = 0;
      for (let start = 0; start < missing.length; start += CHUNK) {
        const rows = missing.slice(start, start + CHUNK).map(({ id }) => ({ vim_id: id, monitor_id: this.newMonitorId(), owner: FREE, dispatched_at: at }));
        const result = await keepOnKey(this.store.driver.name, this.store.db.insertInto('vim_monitors').values(rows), ['vim_id']).executeTakeFirst();
        created += Number(result.numInsertedOrUpdatedRows ?? 0);
      }
      return created;
    });
  }

  /**
   * Takes up to `limit` rows within `scope` (by default: free, or whose owner's heartbeat is older than
   * `liveSinceMs`), giving each a new monitor id: one locking SELECT, then one UPDATE per 500 rows.
   */
  async claim(owner: string, liveSinceMs: number, limit: number, at: string, scope: ClaimScope = 'lapsed'): Promise<Claimed[]> {
    if (limit <= 0) return [];
    const claimable = (eb: ExpressionBuilder<DatabaseSchema, 'vim_monitors'>) =>
      eb.or([
        eb('vim_monitors.owner', '=', FREE),
        eb.not(
          eb.exists(
            eb
              .selectFrom('workers')
              .select('workers.id')
              .whereRef('workers.id', '=', 'vim_monitors.owner')
              .where('workers.heartbeat_ms', '>=', liveSinceMs),
          ),
        ),
      ]);
    return guardStore(this.store, () =>
      this.store.db
        .transaction()
        // MariaDB's default, REPEATABLE READ, locks every index entry and gap a locking read scans, matching or not:
        // claims at once then deadlock on each other's gaps as their UPDATEs move rows to a new owner (3 of 40 in a
        // test of 10 workers). READ COMMITTED locks the rows taken only. PostgreSQL's default; SQLite has no levels.
        .setIsolationLevel('read committed')
        .execute(async (trx) => {
          let candidates = trx.selectFrom('vim_monitors').select(['vim_id', 'owner']).limit(limit);
          if (scope === 'others') candidates = candidates.where('owner', '!=', owner);
          else if (scope === 'lapsed') candidates = candidates.where(claimable);
          else if (scope === 'lapsed-listed') {
            // Read before the rows are locked: a worker listed here that heartbeats meanwhile is left by the UPDATE.
            const stale = await trx.selectFrom('workers').select('id').where('heartbeat_ms', '<', liveSinceMs).execute();
            candidates = candidates.where('owner', 'in', [FREE, ...stale.map((worker) => worker.id)]);
          }
          if (this.store.driver.rowLocks) candidates = candidates.forUpdate().skipLocked();
          const rows = await candidates.execute();
          const claimed: Claimed[] = [];
          for (let start = 0; start < rows.length; start += CHUNK) {
            const chunk = rows.slice(start, start + CHUNK).map((row) => ({ vimId: row.vim_id, monitorId: this.newMonitorId() }));
            const ids = chunk.map((c) => c.vimId);
            let update = trx
              .updateTable('vim_monitors')
              .set((eb) => {
                let monitorId = eb.case('vim_id').when(chunk[0]!.vimId).then(chunk[0]!.monitorId);
                for (const c of chunk.slice(1)) monitorId = monitorId.when(c.vimId).then(c.monitorId);
                return {
                  // First: MySQL/MariaDB evaluate a single-table UPDATE's assignments left to right, so after `owner`
                  // this would read the new owner. Taking a monitor over from another worker (or a previous life)
                  // replaces it; a free row's does not.
                  replacements: eb.case().when('owner', '=', FREE).then(eb.ref('replacements')).else(eb('replacements', '+', 1)).end(),
                  // ELSE never applies (the WHERE names the same ids); it keeps the column's type non-null.
                  monitor_id: monitorId.else(eb.ref('monitor_id')).end(),
                  owner,
                  dispatched_at: at,
                };
              })
              .where('vim_id', 'in', ids);
            // Again under the rows' locks: a worker that started after the SELECT read `workers` may have heartbeated
            // and claimed some of these rows since (PostgreSQL rechecks an updated row against the SELECT's snapshot,
            // in which it was not live yet). This statement reads `workers` afresh.
            if (scope === 'lapsed' || scope === 'lapsed-listed') update = update.where(claimable);
            const result = await update.executeTakeFirst();
            if (Number(result.numUpdatedRows) === chunk.length) {
              claimed.push(...chunk);
              continue;
            }
            const stored = await trx.selectFrom('vim_monitors').select(['vim_id', 'monitor_id']).where('vim_id', 'in', ids).execute();
            const now = new Map(stored.map((row) => [row.vim_id, row.monitor_id]));
            claimed.push(...chunk.filter((c) => now.get(c.vimId) === c.monitorId));
          }
          return claimed;
        }),
    );
  }

  /**
   * Which rows `owner` holds (vim id → monitor id) when it no longer holds exactly `expected` of them, undefined
   * when it does: a count over the owner index every heartbeat spares a read of 10,000 rows, and writes nothing.
   */
  async heldIfChanged(owner: string, expected: number): Promise<Map<string, string> | undefined> {
    return guardStore(this.store, async () => {
      const counted = await this.store.db
        .selectFrom('vim_monitors')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('owner', '=', owner)
        .executeTakeFirstOrThrow();
      if (Number(counted.n) === expected) return undefined;
      const rows = await this.store.db.selectFrom('vim_monitors').select(['vim_id', 'monitor_id']).where('owner', '=', owner).execute();
      return new Map(rows.map((row) => [row.vim_id, row.monitor_id]));
    });
  }

  /** Graceful hand-off: the rows become free at once instead of waiting for this worker's heartbeat to go stale. */
  async release(owner: string, vimIds: string[]): Promise<void> {
    for (let start = 0; start < vimIds.length; start += CHUNK) {
      const chunk = vimIds.slice(start, start + CHUNK);
      await guardStore(this.store, () =>
        this.store.db.updateTable('vim_monitors').set({ owner: FREE }).where('owner', '=', owner).where('vim_id', 'in', chunk).execute(),
      );
    }
  }

  /**
   * Frees every row of `owner`. At start-up on a shared database these are a previous life's, killed and restarted
   * under the same worker name (manager.worker_name) within lease_ttl: its new heartbeat would otherwise keep them
   * held, by a worker that does not run them. Returns how many there were.
   */
  async releaseAll(owner: string): Promise<number> {
    return guardStore(this.store, async () => {
      const result = await this.store.db.updateTable('vim_monitors').set({ owner: FREE }).where('owner', '=', owner).executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  async count(): Promise<number> {
    return guardStore(this.store, async () => {
      const row = await this.store.db.selectFrom('vim_monitors').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }
}
