import { decodeHours, decodeProbeSummary, encodeHours, encodeProbeSummary } from '../history/codec.js';
import type { HistoryDay } from '../history/model.js';
import { guardStore, type Store } from './database.js';
import { replaceOnKey } from './dialects/upsert.js';
import type { Kysely } from 'kysely';
import type { DatabaseSchema, VimHistoryTable } from './schema.js';

/** A day as the VIM's monitor knows it, written only while that monitor still owns the VIM (fencing, as status writes). */
export interface OwnedHistoryDay {
  monitorId: string;
  day: HistoryDay;
}

const VALUE_COLUMNS = [
  'reachable_ms',
  'unreachable_ms',
  'pending_ms',
  'maintenance_reachable_ms',
  'maintenance_unreachable_ms',
  'condition_changes',
  'probes',
  'hours',
  'updated_at_ms',
] as const;

/** Rows per statement: well under every dialect's bound-parameter limit (SQLite's 32,766; 12 columns a row). */
const BATCH = 500;

/** All SQL about vim_history (migration 0010). */
export class HistoryRepository {
  constructor(private readonly store: Store) {}

  /**
   * Stores whole days (replacing what was stored for the same VIM and day).
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
      for (const { monitorId, day } of batch) {
        if (ownerOf.get(day.vimId) !== monitorId) fenced.push(day.vimId);
        else rows.push(toRow(day));
      }
      if (rows.length > 0) await replaceOnKey(this.store.dialect, trx.insertInto('vim_history').values(rows), ['vim_id', 'day'], VALUE_COLUMNS).execute();
      return fenced;
    });
  }

  /**
   * The stored days of these VIMs from `fromDay` to `toDay` (both included),
   * by VIM then day. Without `hours` a day's hours read as null; with
   * `probes: false` its probe summary reads as {} (uptime needs neither, and
   * decoding them is most of the cost of a read of many days).
   */
  async read(vimIds: readonly string[], fromDay: number, toDay: number, options: { hours: boolean; probes?: boolean } = { hours: true }): Promise<HistoryDay[]> {
    if (vimIds.length === 0) return [];
    const columns = VALUE_COLUMNS.filter((column) => (options.hours || column !== 'hours') && (options.probes !== false || column !== 'probes'));
    const rows = await guardStore(this.store, () =>
      this.store.db
        .selectFrom('vim_history')
        .select(['vim_id', 'day', ...columns])
        .where('vim_id', 'in', [...vimIds])
        .where('day', '>=', fromDay)
        .where('day', '<=', toDay)
        .orderBy('vim_id')
        .orderBy('day')
        .execute(),
    );
    return rows.map((row) => fromRow({ ...row, hours: 'hours' in row ? (row.hours as Buffer | null) : null, probes: 'probes' in row ? (row.probes as string) : '{}' }));
  }

  /** Drops the hourly detail of days before `beforeDay` (they stay as daily rollups); at most `limit` rows a call. */
  async dropHours(beforeDay: number, limit: number): Promise<number> {
    return guardStore(this.store, async () => {
      const victims = await this.store.db
        .selectFrom('vim_history')
        .select(['vim_id', 'day'])
        .where('day', '<', beforeDay)
        .where('hours', 'is not', null)
        .orderBy('day')
        .limit(limit)
        .execute();
      let changed = 0;
      for (const [day, vimIds] of byDay(victims)) {
        const result = await this.store.db.updateTable('vim_history').set({ hours: null }).where('day', '=', day).where('vim_id', 'in', vimIds).executeTakeFirst();
        changed += Number(result.numUpdatedRows);
      }
      return changed;
    });
  }

  /** Deletes the days before `beforeDay`; at most `limit` rows a call. */
  async deleteBefore(beforeDay: number, limit: number): Promise<number> {
    return guardStore(this.store, async () => {
      const victims = await this.store.db.selectFrom('vim_history').select(['vim_id', 'day']).where('day', '<', beforeDay).orderBy('day').limit(limit).execute();
      let deleted = 0;
      for (const [day, vimIds] of byDay(victims)) {
        const result = await this.store.db.deleteFrom('vim_history').where('day', '=', day).where('vim_id', 'in', vimIds).executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
      return deleted;
    });
  }

  /** Forgets a deleted VIM's history. */
  async deleteVim(vimId: string): Promise<void> {
    await guardStore(this.store, () => deleteVimHistory(this.store.db, vimId));
  }
}

/** The SQL of deleteVim, for the VIM's own delete transaction (vim-repository.ts): the row and its history go together. */
export async function deleteVimHistory(db: Kysely<DatabaseSchema>, vimId: string): Promise<void> {
  await db.deleteFrom('vim_history').where('vim_id', '=', vimId).execute();
}

/** Victims grouped by day: one statement per day, each naming its rows by key (MySQL cannot delete from a table it selects from). */
function byDay(rows: ReadonlyArray<{ vim_id: string; day: number }>): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const row of rows) {
    const day = Number(row.day);
    const group = groups.get(day);
    if (group) group.push(row.vim_id);
    else groups.set(day, [row.vim_id]);
  }
  return groups;
}

function toRow(day: HistoryDay): VimHistoryTable {
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
    hours: day.hours === null ? null : encodeHours(day.hours),
    updated_at_ms: day.updatedAtMs,
  };
}

function fromRow(row: VimHistoryTable): HistoryDay {
  return {
    vimId: row.vim_id,
    day: Number(row.day),
    reachableMs: Number(row.reachable_ms),
    unreachableMs: Number(row.unreachable_ms),
    pendingMs: Number(row.pending_ms),
    maintenanceReachableMs: Number(row.maintenance_reachable_ms),
    maintenanceUnreachableMs: Number(row.maintenance_unreachable_ms),
    conditionChanges: Number(row.condition_changes),
    // Not parsed when empty or left out (probes: false): a read of many days for uptime makes thousands of rows.
    probes: row.probes === '{}' ? {} : decodeProbeSummary(row.probes),
    hours: row.hours === null ? null : decodeHours(row.hours),
    updatedAtMs: Number(row.updated_at_ms),
  };
}
