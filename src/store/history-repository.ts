import { decodeHours, decodeProbeSummary, encodeHours, encodeProbeSummary } from '../history/codec.js';
import type { DayToSave, HistoryDay, PeriodTotals } from '../history/model.js';
import { guardStore, type Store } from './database.js';
import { replaceOnKey } from './dialects/upsert.js';
import { sql, type Kysely } from 'kysely';
import type { DatabaseSchema, VimHistoryHoursTable, VimHistoryTable } from './schema.js';

/** A day as the VIM's monitor knows it, written only while that monitor still owns the VIM (fencing, as status writes). */
export interface OwnedHistoryDay {
  monitorId: string;
  day: DayToSave;
}

const VALUE_COLUMNS = [
  'reachable_ms',
  'unreachable_ms',
  'pending_ms',
  'maintenance_reachable_ms',
  'maintenance_unreachable_ms',
  'condition_changes',
  'probes',
  'updated_at_ms',
] as const;

/** Rows per statement: well under every dialect's bound-parameter limit (SQLite's 32,766; 10 columns a row). */
const BATCH = 500;

/** VIMs a prune step covers at most, whatever history.prune_batch says (their ids are bound parameters). */
const MAX_PRUNE_VIMS = 5000;

/** One step of a prune walk over VIM ids (HistoryRetention goes on while `more`, from `lastVimId`). */
export interface PruneStep {
  /** Rows deleted. */
  changed: number;
  /** The last VIM id this step covered: the next step starts after it. */
  lastVimId: string;
  /** False once the walk has passed the last VIM with stored history. */
  more: boolean;
}

/** A VIM's whole days summed in SQL (uptime over many days): the totals without probes, and the latest write among them. */
export interface SummedDays {
  totals: PeriodTotals;
  lastWriteMs: number;
}

/** All SQL about vim_history and vim_history_hours (migration 0010). */
export class HistoryRepository {
  constructor(private readonly store: Store) {}

  /**
   * Stores whole days (replacing what was stored for the same VIM and day),
   * the totals and the hours in one transaction.
   * A day whose VIM has another monitor by now is not written: the new owner
   * read the stored day when it took over and carries it on. Returns the ids
   * of the VIMs whose days were fenced off.
   */
  async save(days: readonly OwnedHistoryDay[]): Promise<string[]> {
    const fenced: string[] = [];
    for (let start = 0; start < days.length; start += BATCH) {
      const batch = days.slice(start, start + BATCH);
      fenced.push(...(await guardStore(this.store, () => this.saveBatch(batch))));
    }
    return fenced;
  }

  private async saveBatch(batch: readonly OwnedHistoryDay[]): Promise<string[]> {
    return this.store.db.transaction().execute(async (trx) => {
      const vimIds = [...new Set(batch.map((entry) => entry.day.vimId))];
      const owners = await trx.selectFrom('vim_monitors').select(['vim_id', 'monitor_id']).where('vim_id', 'in', vimIds).execute();
      const ownerOf = new Map(owners.map((row) => [row.vim_id, row.monitor_id]));
      const fenced: string[] = [];
      const rows: VimHistoryTable[] = [];
      const hours: VimHistoryHoursTable[] = [];
      const withoutHours: DayToSave[] = [];
      for (const { monitorId, day } of batch) {
        if (ownerOf.get(day.vimId) !== monitorId) {
          fenced.push(day.vimId);
          continue;
        }
        rows.push(toRow(day));
        if (day.hours === null) withoutHours.push(day);
        else hours.push({ vim_id: day.vimId, day: day.day, hours: Buffer.isBuffer(day.hours) ? day.hours : encodeHours(day.hours) });
      }
      if (rows.length > 0) await replaceOnKey(this.store.dialect, trx.insertInto('vim_history').values(rows), ['vim_id', 'day'], VALUE_COLUMNS).execute();
      if (hours.length > 0) await replaceOnKey(this.store.dialect, trx.insertInto('vim_history_hours').values(hours), ['vim_id', 'day'], ['hours']).execute();
      // A day saved as its rollup only replaces hours stored before (rare: the recorder writes hours for every day it holds).
      for (const day of withoutHours) await trx.deleteFrom('vim_history_hours').where('vim_id', '=', day.vimId).where('day', '=', day.day).execute();
      return fenced;
    });
  }

  /**
   * The stored days of these VIMs from `fromDay` to `toDay` (both included),
   * by VIM then day. Without `hours` a day's hours read as null and
   * vim_history_hours is not read; with `probes: false` its probe summary
   * reads as {} (uptime needs neither, and decoding them is most of the cost
   * of a read of many days).
   */
  async read(vimIds: readonly string[], fromDay: number, toDay: number, options: { hours: boolean; probes?: boolean } = { hours: true }): Promise<HistoryDay[]> {
    if (vimIds.length === 0) return [];
    const columns = VALUE_COLUMNS.filter((column) => options.probes !== false || column !== 'probes');
    const ids = [...vimIds];
    const rows = await guardStore(this.store, () =>
      this.store.db
        .selectFrom('vim_history')
        .select(['vim_id', 'day', ...columns])
        .where('vim_id', 'in', ids)
        .where('day', '>=', fromDay)
        .where('day', '<=', toDay)
        .orderBy('vim_id')
        .orderBy('day')
        .execute(),
    );
    const hours = new Map<string, Uint8Array>();
    if (options.hours && rows.length > 0) {
      const stored = await guardStore(this.store, () =>
        this.store.db
          .selectFrom('vim_history_hours')
          .select(['vim_id', 'day', 'hours'])
          .where('vim_id', 'in', ids)
          .where('day', '>=', fromDay)
          .where('day', '<=', toDay)
          .execute(),
      );
      for (const row of stored) hours.set(`${row.vim_id}/${Number(row.day)}`, row.hours);
    }
    return rows.map((row) =>
      fromRow({ ...row, probes: 'probes' in row ? (row.probes as string) : '{}' }, hours.get(`${row.vim_id}/${Number(row.day)}`) ?? null),
    );
  }

  /**
   * The whole days `fromDay`..`toDay` of each VIM summed in one statement
   * (GROUP BY over the primary key): what uptime over many days needs of the
   * days it holds entirely. VIMs without stored days are absent.
   */
  async sums(vimIds: readonly string[], fromDay: number, toDay: number): Promise<Map<string, SummedDays>> {
    const out = new Map<string, SummedDays>();
    if (vimIds.length === 0 || toDay < fromDay) return out;
    const rows = await guardStore(this.store, () =>
      this.store.db
        .selectFrom('vim_history')
        .select((eb) => [
          'vim_id',
          eb.fn.sum<string | number>('reachable_ms').as('reachable_ms'),
          eb.fn.sum<string | number>('unreachable_ms').as('unreachable_ms'),
          eb.fn.sum<string | number>('pending_ms').as('pending_ms'),
          eb.fn.sum<string | number>('maintenance_reachable_ms').as('maintenance_reachable_ms'),
          eb.fn.sum<string | number>('maintenance_unreachable_ms').as('maintenance_unreachable_ms'),
          eb.fn.sum<string | number>('condition_changes').as('condition_changes'),
          eb.fn.max('updated_at_ms').as('updated_at_ms'),
        ])
        .where('vim_id', 'in', [...vimIds])
        .where('day', '>=', fromDay)
        .where('day', '<=', toDay)
        .groupBy('vim_id')
        .execute(),
    );
    for (const row of rows) {
      out.set(row.vim_id, { totals: { ...durationsOf(row), probes: {} }, lastWriteMs: Number(row.updated_at_ms) });
    }
    return out;
  }

  /**
   * Drops the hourly detail of days before `beforeDay` (they stay as daily
   * rollups), for the next `limit` VIMs with hours after `afterVimId`: one
   * delete by primary key prefix, touching only the rows it removes.
   */
  async dropHours(beforeDay: number, limit: number, afterVimId = ''): Promise<PruneStep> {
    return guardStore(this.store, async () => {
      const vimIds = await this.nextVimIds('vim_history_hours', afterVimId, limit);
      if (vimIds.length === 0) return { changed: 0, lastVimId: afterVimId, more: false };
      const result = await this.store.db.deleteFrom('vim_history_hours').where('vim_id', 'in', vimIds).where('day', '<', beforeDay).executeTakeFirst();
      return { changed: Number(result.numDeletedRows), lastVimId: vimIds[vimIds.length - 1] as string, more: vimIds.length === Math.min(limit, MAX_PRUNE_VIMS) };
    });
  }

  /**
   * Deletes the days before `beforeDay` of the next `limit` VIMs with
   * history after `afterVimId`, and all history of those among them that no
   * longer exist (a write that raced the VIM's delete); counts vim_history rows.
   */
  async deleteBefore(beforeDay: number, limit: number, afterVimId = ''): Promise<PruneStep> {
    return guardStore(this.store, async () => {
      const vimIds = await this.nextVimIds('vim_history', afterVimId, limit);
      if (vimIds.length === 0) return { changed: 0, lastVimId: afterVimId, more: false };
      const live = new Set((await this.store.db.selectFrom('vims').select('id').where('id', 'in', vimIds).execute()).map((row) => row.id));
      const orphans = vimIds.filter((id) => !live.has(id));
      const alive = vimIds.filter((id) => live.has(id));
      let changed = 0;
      if (alive.length > 0) {
        await this.store.db.deleteFrom('vim_history_hours').where('vim_id', 'in', alive).where('day', '<', beforeDay).execute();
        const result = await this.store.db.deleteFrom('vim_history').where('vim_id', 'in', alive).where('day', '<', beforeDay).executeTakeFirst();
        changed += Number(result.numDeletedRows);
      }
      if (orphans.length > 0) {
        const gone = sql<boolean>`NOT EXISTS (SELECT 1 FROM vims WHERE vims.id = vim_id)`;
        await this.store.db.deleteFrom('vim_history_hours').where('vim_id', 'in', orphans).where(gone).execute();
        const result = await this.store.db.deleteFrom('vim_history').where('vim_id', 'in', orphans).where(gone).executeTakeFirst();
        changed += Number(result.numDeletedRows);
      }
      return { changed, lastVimId: vimIds[vimIds.length - 1] as string, more: vimIds.length === Math.min(limit, MAX_PRUNE_VIMS) };
    });
  }

  /**
   * The next `limit` distinct VIM ids of a history table after `afterVimId`,
   * by a loose index scan (one MIN() probe of the primary key per VIM, in a
   * recursive CTE): the cost grows with the VIMs, not with their days.
   */
  private async nextVimIds(table: 'vim_history' | 'vim_history_hours', afterVimId: string, limit: number): Promise<string[]> {
    // The ids go into IN lists: stay far below every dialect's bound-parameter limit.
    const count = Math.min(limit, MAX_PRUNE_VIMS);
    const t = sql.table(table);
    const rows = await sql<{ vim_id: string | null }>`
      WITH RECURSIVE walk (vim_id, n) AS (
        SELECT (SELECT MIN(vim_id) FROM ${t} WHERE vim_id > ${afterVimId}), 1
        UNION ALL
        SELECT (SELECT MIN(h.vim_id) FROM ${t} h WHERE h.vim_id > walk.vim_id), walk.n + 1 FROM walk WHERE walk.vim_id IS NOT NULL AND walk.n < ${count}
      )
      SELECT vim_id FROM walk WHERE vim_id IS NOT NULL`.execute(this.store.db);
    return rows.rows.map((row) => row.vim_id as string);
  }

  /** Forgets a deleted VIM's history. */
  async deleteVim(vimId: string): Promise<void> {
    await guardStore(this.store, () => deleteVimHistory(this.store.db, vimId));
  }
}

/** The SQL of deleteVim, for the VIM's own delete transaction (vim-repository.ts): the row and its history go together. */
export async function deleteVimHistory(db: Kysely<DatabaseSchema>, vimId: string): Promise<void> {
  await db.deleteFrom('vim_history_hours').where('vim_id', '=', vimId).execute();
  await db.deleteFrom('vim_history').where('vim_id', '=', vimId).execute();
}

function toRow(day: DayToSave): VimHistoryTable {
  return {
    vim_id: day.vimId,
    day: day.day,
    reachable_ms: Math.round(day.reachableMs),
    unreachable_ms: Math.round(day.unreachableMs),
    pending_ms: Math.round(day.pendingMs),
    maintenance_reachable_ms: Math.round(day.maintenanceReachableMs),
    maintenance_unreachable_ms: Math.round(day.maintenanceUnreachableMs),
    condition_changes: day.conditionChanges,
    probes: encodeProbeSummary(day.probes),
    updated_at_ms: day.updatedAtMs,
  };
}

type StoredDurations = Pick<VimHistoryTable, 'reachable_ms' | 'unreachable_ms' | 'pending_ms' | 'maintenance_reachable_ms' | 'maintenance_unreachable_ms' | 'condition_changes'>;

/** The figures of a stored day, or of a sum of days (drivers answer SUM() and bigint as strings). */
function durationsOf(row: { [K in keyof StoredDurations]: string | number | bigint }): Omit<PeriodTotals, 'probes'> {
  return {
    reachableMs: Number(row.reachable_ms),
    unreachableMs: Number(row.unreachable_ms),
    pendingMs: Number(row.pending_ms),
    maintenanceReachableMs: Number(row.maintenance_reachable_ms),
    maintenanceUnreachableMs: Number(row.maintenance_unreachable_ms),
    conditionChanges: Number(row.condition_changes),
  };
}

function fromRow(row: VimHistoryTable, hours: Uint8Array | null): HistoryDay {
  return {
    vimId: row.vim_id,
    day: Number(row.day),
    ...durationsOf(row),
    // Not parsed when empty or left out (probes: false): a read of many days for uptime makes thousands of rows.
    probes: row.probes === '{}' ? {} : decodeProbeSummary(row.probes),
    hours: hours === null ? null : decodeHours(hours),
    updatedAtMs: Number(row.updated_at_ms),
  };
}
