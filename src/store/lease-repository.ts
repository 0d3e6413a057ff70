import { randomUUID } from 'node:crypto';
import { guardStore, type Store } from './database.js';

export interface Claimed {
  vimId: string;
  monitorId: string;
}

const FREE = '';

/** Which rows a claim may take. */
export type ClaimScope =
  /** Free rows and lapsed leases: the only safe choice where other workers share the database. */
  | 'lapsed'
  /**
   * Every row of another owner, live leases too, never the claimer's own.
   * Only for a database no other process can open (a locked SQLite file):
   * there every other owner is a previous life of this service, and the
   * claimer does not renew its own leases, so "lapsed" would include rows it runs.
   */
  | 'others'
  /** Every row, the claimer's own name included: at start-up on such a database, where a previous life may have run under the same worker name. */
  | 'all';

/**
 * Monitors are owned through leases on their rows. All the SQL of sharing
 * work between workers sits here: claiming free or lapsed rows under row
 * locks (FOR UPDATE SKIP LOCKED where the database has it, so that workers
 * claiming at once never block on or take the same rows), renewing, and
 * handing rows back.
 */
export class LeaseRepository {
  constructor(
    private readonly store: Store,
    private readonly newMonitorId: () => string = randomUUID,
  ) {}

  /** Monitor rows (free to claim) for VIMs that have none, e.g. created by an API-only process. */
  async ensureRows(at: string): Promise<number> {
    return guardStore(this.store, async () => {
      const missing = await this.store.db
        .selectFrom('vims')
        .select('id')
        // NOT EXISTS, not NOT IN: PostgreSQL rescans a NOT IN subquery per row once it no longer expects it to fit
        // in memory (a bloated vim_monitors: leases rewrite every row each heartbeat), 10 s at 10,000 VIMs.
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('vim_monitors').select('vim_monitors.vim_id').whereRef('vim_monitors.vim_id', '=', 'vims.id'))))
        .execute();
      let created = 0;
      for (const { id } of missing) {
        try {
          await this.store.db
            .insertInto('vim_monitors')
            .values({ vim_id: id, monitor_id: this.newMonitorId(), owner: FREE, dispatched_at: at, lease_until_ms: 0 })
            .execute();
          created += 1;
        } catch (error) {
          // Another worker created it first.
          if (this.store.driver.classify(error).kind !== 'unique') throw error;
        }
      }
      return created;
    });
  }

  /**
   * Takes up to `limit` rows within `scope` (by default: free, or whose
   * lease lapsed), giving each a new monitor id.
   */
  async claim(owner: string, nowMs: number, leaseUntilMs: number, limit: number, at: string, scope: ClaimScope = 'lapsed'): Promise<Claimed[]> {
    if (limit <= 0) return [];
    return guardStore(this.store, () =>
      this.store.db.transaction().execute(async (trx) => {
        let candidates = trx.selectFrom('vim_monitors').select(['vim_id', 'owner']).orderBy('lease_until_ms').limit(limit);
        if (scope === 'others') candidates = candidates.where('owner', '!=', owner);
        else if (scope === 'lapsed') candidates = candidates.where('lease_until_ms', '<', nowMs);
        if (this.store.driver.rowLocks) candidates = candidates.forUpdate().skipLocked();
        const rows = await candidates.execute();
        const claimed: Claimed[] = [];
        for (const row of rows) {
          const monitorId = this.newMonitorId();
          await trx
            .updateTable('vim_monitors')
            .set((eb) => ({
              owner,
              monitor_id: monitorId,
              lease_until_ms: leaseUntilMs,
              dispatched_at: at,
              // Taking a monitor over from another worker (or a previous life) replaces it.
              replacements: row.owner === FREE ? eb.ref('replacements') : eb('replacements', '+', 1),
            }))
            .where('vim_id', '=', row.vim_id)
            .execute();
          claimed.push({ vimId: row.vim_id, monitorId });
        }
        return claimed;
      }),
    );
  }

  /**
   * Extends every lease of `owner`. When it still holds exactly `expected`
   * rows nothing was lost and undefined is returned, sparing a read of
   * 10,000 rows every heartbeat; otherwise it says which rows it holds
   * (vim id → monitor id). Needed only where other processes share the
   * database; on one only this process opens, claims use scope 'others'.
   */
  async renew(owner: string, leaseUntilMs: number, expected: number): Promise<Map<string, string> | undefined> {
    return guardStore(this.store, async () => {
      const renewed = await this.store.db.updateTable('vim_monitors').set({ lease_until_ms: leaseUntilMs }).where('owner', '=', owner).executeTakeFirst();
      if (Number(renewed.numUpdatedRows) === expected) return undefined;
      const rows = await this.store.db.selectFrom('vim_monitors').select(['vim_id', 'monitor_id']).where('owner', '=', owner).execute();
      return new Map(rows.map((row) => [row.vim_id, row.monitor_id]));
    });
  }

  /** Graceful hand-off: the rows become free at once instead of waiting for their leases to lapse. */
  async release(owner: string, vimIds: string[]): Promise<void> {
    for (let start = 0; start < vimIds.length; start += 500) {
      const chunk = vimIds.slice(start, start + 500);
      await guardStore(this.store, () =>
        this.store.db
          .updateTable('vim_monitors')
          .set({ owner: FREE, lease_until_ms: 0 })
          .where('owner', '=', owner)
          .where('vim_id', 'in', chunk)
          .execute(),
      );
    }
  }

  async count(): Promise<number> {
    return guardStore(this.store, async () => {
      const row = await this.store.db.selectFrom('vim_monitors').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }
}
