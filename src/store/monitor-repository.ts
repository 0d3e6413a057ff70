import type { ExpressionBuilder, Selectable } from 'kysely';
import type { Transaction } from 'kysely';
import type { HealthChange, StatusChange } from '../monitors/status-change.js';
import type { PlacementAttr } from '../vims/model.js';
import type { CapacityFigures } from '../health/condition.js';
import { guardStore, type Store } from './database.js';
import type { DatabaseSchema, VimMonitorsTable } from './schema.js';

export type MonitorRow = Selectable<VimMonitorsTable>;

/** The fencing condition of every monitor write: the VIM's monitor row still names the writer. */
export function ownedBy(eb: ExpressionBuilder<DatabaseSchema, 'vims'>, vimId: string, monitorId: string) {
  return eb.selectFrom('vim_monitors').select('vim_monitors.vim_id').where('vim_monitors.vim_id', '=', vimId).where('vim_monitors.monitor_id', '=', monitorId);
}

/** Why a status write did or did not happen. */
export type StatusWriteOutcome =
  | 'written'
  /** The VIM's monitor row names another monitor (or none): the writer was replaced. */
  | 'fenced'
  /** The stored status already moved on (e.g. the write was retried after it committed): nothing to do. */
  | 'stale';

/** All SQL about monitors and their status writes. */
export class MonitorRepository {
  constructor(private readonly store: Store) {}

  async list(): Promise<MonitorRow[]> {
    return guardStore(this.store, () => this.store.db.selectFrom('vim_monitors').selectAll().execute());
  }

  async find(vimId: string): Promise<MonitorRow | undefined> {
    return guardStore(this.store, () => this.store.db.selectFrom('vim_monitors').selectAll().where('vim_id', '=', vimId).executeTakeFirst());
  }

  /**
   * Points a VIM at a (new) monitor run by `owner` (held for as long as that
   * worker's heartbeat is live). `replacement` counts a forced replacement by the sweep. With
   * `onlyIfOwner`, nothing changes unless the row still belongs to that worker
   * (a replacement queued behind a lost lease must not steal the row back).
   */
  async assign(
    vimId: string,
    monitorId: string,
    owner: string,
    at: string,
    replacement: boolean,
    onlyIfOwner?: string,
  ): Promise<void> {
    const update = () => {
      let query = this.store.db
        .updateTable('vim_monitors')
        .set((eb) => ({
          monitor_id: monitorId,
          owner,
          dispatched_at: at,
          replacements: replacement ? eb('replacements', '+', 1) : eb.ref('replacements'),
        }))
        .where('vim_id', '=', vimId);
      if (onlyIfOwner !== undefined) query = query.where('owner', '=', onlyIfOwner);
      return query.executeTakeFirst();
    };
    await guardStore(this.store, async () => {
      if (Number((await update()).numUpdatedRows) > 0 || onlyIfOwner !== undefined) return;
      // Only VIMs that still exist get a monitor row.
      const vim = await this.store.db.selectFrom('vims').select('id').where('id', '=', vimId).executeTakeFirst();
      if (!vim) return;
      try {
        await this.store.db
          .insertInto('vim_monitors')
          .values({ vim_id: vimId, monitor_id: monitorId, owner, dispatched_at: at })
          .execute();
      } catch (error) {
        // Another worker's sweep made a free row for this VIM meanwhile: take that one.
        if (this.store.driver.classify(error).kind !== 'unique') throw error;
        await update();
      }
    });
  }

  async remove(vimId: string): Promise<void> {
    await guardStore(this.store, () => this.store.db.deleteFrom('vim_monitors').where('vim_id', '=', vimId).execute());
  }

  /** Monitor rows whose VIM is gone (deleted while this process was down). */
  async removeOrphans(): Promise<number> {
    return guardStore(this.store, async () => {
      const result = await this.store.db
        .deleteFrom('vim_monitors')
        // NOT EXISTS, not NOT IN (see LeaseRepository.ensureRows).
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('vims').select('vims.id').whereRef('vims.id', '=', 'vim_monitors.vim_id'))))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  /**
   * The status and its event, in one transaction, only if `change.monitorId`
   * still owns the VIM and the stored status is the one the monitor moved
   * away from. The second condition makes a retried write idempotent.
   */
  async recordStatusChange(change: StatusChange): Promise<StatusWriteOutcome> {
    return guardStore(this.store, () =>
      this.store.db.transaction().execute(async (trx) => {
        const health = change.health;
        const heldBy = change.heldBy ?? null;
        const updated = await trx
          .updateTable('vims')
          .set((eb) => ({
            status: change.newStatus,
            ...(health && { conditions: JSON.stringify(health.conditions), health: health.newHealth }),
            // Receivers keep the status they last got while a change is held (the catch-up compares with it); an unheld change reaches them.
            notified_status: heldBy ? eb.fn.coalesce('notified_status', eb.val(change.oldStatus)) : null,
          }))
          .where('id', '=', change.vimId)
          .where('status', '=', change.oldStatus)
          .where((eb) => eb.exists(ownedBy(eb, change.vimId, change.monitorId)))
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) {
          const owner = await trx.selectFrom('vim_monitors').select('monitor_id').where('vim_id', '=', change.vimId).executeTakeFirst();
          return owner?.monitor_id === change.monitorId ? 'stale' : 'fenced';
        }
        await trx
          .insertInto('vim_events')
          .values({
            vim_id: change.vimId,
            vim_name: change.vimName,
            tenant_id: change.tenantId,
            monitor_id: change.monitorId,
            event_type: 'MONITOR',
            old_status: change.oldStatus,
            new_status: change.newStatus,
            reason: change.reason,
            detail: JSON.stringify({ probes: change.probes }),
            created_at: change.at,
            held_by: heldBy,
          })
          .execute();
        if (health && health.changed.length > 0) await insertHealthEvent(trx, { ...health, ...(change.heldBy && { heldBy: change.heldBy }) });
        return 'written';
      }),
    );
  }

  /**
   * A condition change without a status change, fenced by monitor id like a
   * status write. Idempotent: a retried write finds the same conditions
   * stored and is 'stale'.
   */
  async recordHealthChange(change: HealthChange): Promise<StatusWriteOutcome> {
    const conditions = JSON.stringify(change.conditions);
    return guardStore(this.store, () =>
      this.store.db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('vims')
          .set({ conditions, health: change.newHealth })
          .where('id', '=', change.vimId)
          .where((eb) => eb.or([eb('conditions', 'is', null), eb('conditions', '<>', conditions)]))
          .where((eb) => eb.exists(ownedBy(eb, change.vimId, change.monitorId)))
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) {
          const owner = await trx.selectFrom('vim_monitors').select('monitor_id').where('vim_id', '=', change.vimId).executeTakeFirst();
          return owner?.monitor_id === change.monitorId ? 'stale' : 'fenced';
        }
        await insertHealthEvent(trx, change);
        return 'written';
      }),
    );
  }

  /** Capacity the deep checks measured, fenced by monitor id like the conditions; not a user change, so no revision bump. */
  async recordCapacity(vimId: string, monitorId: string, capacity: CapacityFigures): Promise<'written' | 'fenced'> {
    return guardStore(this.store, async () => {
      const updated = await this.store.db
        .updateTable('vims')
        .set({ capacity: JSON.stringify(capacity) })
        .where('id', '=', vimId)
        .where((eb) => eb.exists(ownedBy(eb, vimId, monitorId)))
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 0 ? 'fenced' : 'written';
    });
  }

  /** Placement discovered by the auth probe; not a user change, so no revision bump. */
  async setPlacement(vimId: string, placement: PlacementAttr): Promise<void> {
    await guardStore(this.store, () =>
      this.store.db.updateTable('vims').set({ placement_attr: JSON.stringify(placement) }).where('id', '=', vimId).execute(),
    );
  }
}

/** A `vim.health.update` event: event_type HEALTH, the VIM's status as old and new status (it did not move), the health change in detail. */
async function insertHealthEvent(trx: Transaction<DatabaseSchema>, change: HealthChange): Promise<void> {
  await trx
    .insertInto('vim_events')
    .values({
      vim_id: change.vimId,
      vim_name: change.vimName,
      tenant_id: change.tenantId,
      monitor_id: change.monitorId,
      event_type: 'HEALTH',
      old_status: change.status,
      new_status: change.status,
      reason: change.reason,
      detail: JSON.stringify({
        old_health: change.oldHealth,
        new_health: change.newHealth,
        failing_layer: change.failingLayer,
        changed: change.changed,
        conditions: change.conditions,
      }),
      created_at: change.at,
      held_by: change.heldBy ?? null,
    })
    .execute();
}
