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

/** What one prune call did. */
export interface EventPrune {
  deleted: number;
  /** The largest id examined: the next call continues after it (past events kept for a dead letter). */
  lastId: number;
  /** Whether a full batch was examined: more may be due. */
  more: boolean;
}

/** A delivery channel whose cursor keeps events older than the retention from being pruned. */
export interface ChannelBehind {
  id: string;
  kind: string;
  cursorEventId: number;
}

/** Reads of the event history, oldest first (the order they were written in), and its pruning. */
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

  /**
   * Deletes up to `limit` events stored before `createdBefore` (Tacker
   * format), oldest first, after `afterId`. Never deleted: an event some
   * delivery channel has not passed yet (ids above the smallest
   * subscriptions.cursor_event_id; a new channel starts at the newest id, so
   * it is covered), an event a dead letter names (the operator looks it up),
   * and the newest event (max(id) is where new channels and streams start,
   * and must never go back). Idempotent: workers pruning at once only find
   * less to delete. Victims are named by id (MySQL cannot delete from a
   * table it selects from).
   */
  async prune(createdBefore: string, limit: number, afterId = 0): Promise<EventPrune> {
    return guardStore(this.store, async () => {
      const db = this.store.db;
      const newest = await db.selectFrom('vim_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
      const cursor = await db.selectFrom('subscriptions').select((eb) => eb.fn.min('cursor_event_id').as('min')).executeTakeFirst();
      let upTo = Number(newest?.max ?? 0) - 1;
      if (cursor?.min !== null && cursor?.min !== undefined) upTo = Math.min(upTo, Number(cursor.min));
      if (upTo <= afterId) return { deleted: 0, lastId: afterId, more: false };
      const candidates = (
        await db
          .selectFrom('vim_events')
          .select('id')
          .where('id', '>', afterId)
          .where('id', '<=', upTo)
          .where('created_at', '<', createdBefore)
          .orderBy('id')
          .limit(limit)
          .execute()
      ).map((row) => Number(row.id));
      if (candidates.length === 0) return { deleted: 0, lastId: afterId, more: false };
      const lettered = new Set(
        (await db.selectFrom('dead_letters').select('event_id').where('event_id', 'in', candidates).execute()).map((row) => Number(row.event_id)),
      );
      const victims = candidates.filter((id) => !lettered.has(id));
      let deleted = 0;
      if (victims.length > 0) deleted = Number((await db.deleteFrom('vim_events').where('id', 'in', victims).executeTakeFirst()).numDeletedRows);
      return { deleted, lastId: candidates[candidates.length - 1] as number, more: candidates.length === limit };
    });
  }

  /** Channels whose cursor is behind an event stored before `createdBefore`: they hold old events back from pruning. */
  async channelsBehind(createdBefore: string): Promise<ChannelBehind[]> {
    return guardStore(this.store, async () => {
      const oldest = await this.store.db
        .selectFrom('vim_events')
        .select((eb) => eb.fn.max('id').as('max'))
        .where('created_at', '<', createdBefore)
        .executeTakeFirst();
      if (oldest?.max === null || oldest?.max === undefined) return [];
      const rows = await this.store.db
        .selectFrom('subscriptions')
        .select(['id', 'kind', 'cursor_event_id'])
        .where('cursor_event_id', '<', Number(oldest.max))
        .orderBy('cursor_event_id')
        .limit(10)
        .execute();
      return rows.map((row) => ({ id: row.id, kind: row.kind, cursorEventId: Number(row.cursor_event_id) }));
    });
  }
}
