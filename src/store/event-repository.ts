import type { Selectable } from 'kysely';
import { guardStore, type Store } from './database.js';
import type { VimEventsTable } from './schema.js';

export type EventRow = Selectable<VimEventsTable>;

export interface EventQuery {
  vimIds?: string[];
  tenantIds?: string[];
  statuses?: string[];
  /** vim_events.event_type values: MONITOR (status changes), HEALTH (condition changes). */
  eventTypes?: string[];
  /** Events with an id up to this one only (the safe horizon of a reader that must not skip late commits). */
  upToId?: number;
  /** Tacker-format timestamp: events strictly after it. */
  since?: string;
  /** Events with a larger id (resume from the last one seen). */
  afterId?: number;
  /** Leave out events stored while their VIM's notifications were held (what receivers are not sent). */
  excludeHeld?: boolean;
  limit: number;
}

/** Reads of the event history, oldest first (the order they were written in). */
export class EventRepository {
  constructor(private readonly store: Store) {}

  async list(query: EventQuery): Promise<EventRow[]> {
    if ([query.vimIds, query.tenantIds, query.statuses, query.eventTypes].some((values) => values !== undefined && values.length === 0)) return [];
    return guardStore(this.store, async () => {
      let select = this.store.db.selectFrom('vim_events').selectAll();
      if (query.vimIds) select = select.where('vim_id', 'in', query.vimIds);
      if (query.tenantIds) select = select.where('tenant_id', 'in', query.tenantIds);
      if (query.since !== undefined) select = select.where('created_at', '>', query.since);
      if (query.statuses) select = select.where('new_status', 'in', query.statuses);
      if (query.eventTypes) select = select.where('event_type', 'in', query.eventTypes);
      if (query.excludeHeld) select = select.where('held_by', 'is', null);
      if (query.afterId !== undefined) select = select.where('id', '>', query.afterId);
      if (query.upToId !== undefined) select = select.where('id', '<=', query.upToId);
      const rows = await select.orderBy('id').limit(query.limit).execute();
      return rows.map((row) => ({ ...row, id: Number(row.id) }));
    });
  }

  async maxId(): Promise<number> {
    return guardStore(this.store, async () => {
      const row = await this.store.db.selectFrom('vim_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
      return Number(row?.max ?? 0);
    });
  }
}
