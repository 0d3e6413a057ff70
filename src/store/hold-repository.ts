import { guardStore, type Store } from './database.js';
import { ownedBy } from './monitor-repository.js';

/** A VIM whose receivers did not get its current status: a held change is waiting for its catch-up. */
export interface PendingCatchUp {
  vimId: string;
  vimName: string;
  tenantId: string;
  status: string;
  /** The status receivers last got. */
  notifiedStatus: string;
  /** The monitor the database names for the VIM (the catch-up is fenced by it). */
  monitorId: string;
}

export interface CatchUp {
  vimId: string;
  vimName: string;
  tenantId: string;
  monitorId: string;
  /** What was read: the write happens only if the VIM still has exactly these (compare and set). */
  status: string;
  notifiedStatus: string;
  reason: string;
  /** JSON event detail (per-probe detail, as status events carry). */
  detail: string;
  at: string;
}

/**
 * The SQL of the notification hold (src/maintenance/notification-hold.ts).
 * A held status change leaves `vims.notified_status` set (monitor-repository.ts);
 * the catch-up clears it and, when the status differs from it, stores one
 * unheld MONITOR event from the status receivers got to the current one.
 */
export class HoldRepository {
  constructor(private readonly store: Store) {}

  /** VIMs of this worker's monitors with a catch-up pending (an indexed read: only VIMs with a held change). */
  async pending(owner: string, limit = 1000): Promise<PendingCatchUp[]> {
    const rows = await guardStore(this.store, () =>
      this.store.db
        .selectFrom('vims')
        .innerJoin('vim_monitors', 'vim_monitors.vim_id', 'vims.id')
        .select(['vims.id', 'vims.name', 'vims.tenant_id', 'vims.status', 'vims.notified_status', 'vim_monitors.monitor_id'])
        .where('vims.notified_status', 'is not', null)
        .where('vim_monitors.owner', '=', owner)
        .limit(limit)
        .execute(),
    );
    return rows.map((row) => ({
      vimId: row.id,
      vimName: row.name,
      tenantId: row.tenant_id,
      status: row.status,
      notifiedStatus: row.notified_status ?? row.status,
      monitorId: row.monitor_id,
    }));
  }

  /**
   * In one transaction, fenced by monitor id: clears the pending mark and,
   * if receivers last got another status, stores the catch-up event.
   * 'moved': the VIM changed since it was read (another write won; the next
   * pass reads it again). Idempotent: a retry after a commit finds nothing pending.
   */
  async catchUp(change: CatchUp): Promise<'sent' | 'cleared' | 'moved'> {
    return guardStore(this.store, () =>
      this.store.db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('vims')
          .set({ notified_status: null })
          .where('id', '=', change.vimId)
          .where('status', '=', change.status)
          .where('notified_status', '=', change.notifiedStatus)
          .where((eb) => eb.exists(ownedBy(eb, change.vimId, change.monitorId)))
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) return 'moved';
        if (change.status === change.notifiedStatus) return 'cleared';
        await trx
          .insertInto('vim_events')
          .values({
            vim_id: change.vimId,
            vim_name: change.vimName,
            tenant_id: change.tenantId,
            monitor_id: change.monitorId,
            event_type: 'MONITOR',
            old_status: change.notifiedStatus,
            new_status: change.status,
            reason: change.reason,
            detail: change.detail,
            created_at: change.at,
          })
          .execute();
        return 'sent';
      }),
    );
  }
}
