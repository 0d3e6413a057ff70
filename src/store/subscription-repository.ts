import type { Selectable } from 'kysely';
import { guardStore, type Store } from './database.js';
import type { SubscriptionsTable } from './schema.js';

export type SubscriptionRow = Selectable<SubscriptionsTable>;

export interface NewSubscription {
  id: string;
  kind: 'webhook' | 'amqp';
  tenantId: string;
  callbackUrl: string;
  sealedSecret: string;
  filter: string;
  createdAt: string;
}

/** All SQL about delivery channels: their rows, leases, cursors and dead letters. */
export class SubscriptionRepository {
  constructor(private readonly store: Store) {}

  /** New channels start after the newest event: they receive what happens from now on. */
  async insert(subscription: NewSubscription): Promise<void> {
    await guardStore(this.store, async () => {
      const newest = await this.store.db.selectFrom('vim_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
      await this.store.db
        .insertInto('subscriptions')
        .values({
          id: subscription.id,
          kind: subscription.kind,
          tenant_id: subscription.tenantId,
          callback_url: subscription.callbackUrl,
          secret: subscription.sealedSecret,
          filter: subscription.filter,
          created_at: subscription.createdAt,
          cursor_event_id: Number(newest?.max ?? 0),
        })
        .execute();
    });
  }

  /** Creates the row only if it is missing (the AMQP channel, on every start). */
  async ensure(subscription: NewSubscription): Promise<void> {
    if (await this.find(subscription.id)) return;
    try {
      await this.insert(subscription);
    } catch (error) {
      if (this.store.driver.classify(error).kind !== 'unique') throw error;
    }
  }

  async find(id: string): Promise<SubscriptionRow | undefined> {
    return guardStore(this.store, () => this.store.db.selectFrom('subscriptions').selectAll().where('id', '=', id).executeTakeFirst());
  }

  async list(kind?: 'webhook' | 'amqp'): Promise<SubscriptionRow[]> {
    return guardStore(this.store, () => {
      let query = this.store.db.selectFrom('subscriptions').selectAll().orderBy('created_at').orderBy('id');
      if (kind) query = query.where('kind', '=', kind);
      return query.execute();
    });
  }

  async delete(id: string): Promise<boolean> {
    return guardStore(this.store, async () => {
      await this.store.db.deleteFrom('dead_letters').where('subscription_id', '=', id).execute();
      const result = await this.store.db.deleteFrom('subscriptions').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  /** Takes the channels whose lease lapsed (or that are free), under row locks; returns the ids now held. */
  async claim(owner: string, nowMs: number, leaseUntilMs: number, limit: number): Promise<string[]> {
    return guardStore(this.store, () =>
      this.store.db.transaction().execute(async (trx) => {
        let candidates = trx.selectFrom('subscriptions').select('id').where('lease_until_ms', '<', nowMs).orderBy('lease_until_ms').limit(limit);
        if (this.store.driver.rowLocks) candidates = candidates.forUpdate().skipLocked();
        const ids = (await candidates.execute()).map((row) => row.id);
        if (ids.length > 0) {
          await trx.updateTable('subscriptions').set({ owner, lease_until_ms: leaseUntilMs }).where('id', 'in', ids).execute();
        }
        return ids;
      }),
    );
  }

  /** Renews this worker's leases and returns the channels it holds. */
  async renew(owner: string, leaseUntilMs: number): Promise<SubscriptionRow[]> {
    return guardStore(this.store, async () => {
      await this.store.db.updateTable('subscriptions').set({ lease_until_ms: leaseUntilMs }).where('owner', '=', owner).execute();
      return this.store.db.selectFrom('subscriptions').selectAll().where('owner', '=', owner).execute();
    });
  }

  async release(owner: string): Promise<void> {
    await guardStore(this.store, () =>
      this.store.db.updateTable('subscriptions').set({ owner: '', lease_until_ms: 0 }).where('owner', '=', owner).execute(),
    );
  }

  /**
   * Moves the cursor past a delivered event. Conditional on the cursor and
   * the owner, so that a worker that lost the channel cannot move it.
   */
  async delivered(id: string, owner: string, fromCursor: number, toEventId: number, at: string): Promise<boolean> {
    return guardStore(this.store, async () => {
      const result = await this.store.db
        .updateTable('subscriptions')
        .set((eb) => ({
          cursor_event_id: toEventId,
          delivered: eb('delivered', '+', 1),
          attempts: eb('attempts', '+', 1),
          retry_count: 0,
          next_attempt_ms: 0,
          last_attempt_at: at,
          last_success_at: at,
        }))
        .where('id', '=', id)
        .where('owner', '=', owner)
        .where('cursor_event_id', '=', fromCursor)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  /** Moves the cursor past events that matched no filter of this channel (nothing to deliver). */
  async skip(id: string, owner: string, fromCursor: number, toEventId: number): Promise<boolean> {
    return guardStore(this.store, async () => {
      const result = await this.store.db
        .updateTable('subscriptions')
        .set({ cursor_event_id: toEventId })
        .where('id', '=', id)
        .where('owner', '=', owner)
        .where('cursor_event_id', '=', fromCursor)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  async failed(id: string, owner: string, error: string, nextAttemptMs: number, at: string): Promise<void> {
    await guardStore(this.store, () =>
      this.store.db
        .updateTable('subscriptions')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          failures: eb('failures', '+', 1),
          retry_count: eb('retry_count', '+', 1),
          next_attempt_ms: nextAttemptMs,
          last_error: error,
          last_attempt_at: at,
        }))
        .where('id', '=', id)
        .where('owner', '=', owner)
        .execute(),
    );
  }

  /** Gives up on one event: recorded as a dead letter, and the cursor moves past it. */
  async deadLetter(id: string, owner: string, fromCursor: number, eventId: number, attempts: number, error: string, at: string): Promise<boolean> {
    return guardStore(this.store, () =>
      this.store.db.transaction().execute(async (trx) => {
        const moved = await trx
          .updateTable('subscriptions')
          .set((eb) => ({ cursor_event_id: eventId, dead_lettered: eb('dead_lettered', '+', 1), retry_count: 0, next_attempt_ms: 0 }))
          .where('id', '=', id)
          .where('owner', '=', owner)
          .where('cursor_event_id', '=', fromCursor)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 0) return false;
        await trx.insertInto('dead_letters').values({ subscription_id: id, event_id: eventId, attempts, last_error: error, dead_at: at }).execute();
        return true;
      }),
    );
  }

  async deadLetters(id: string, limit: number): Promise<Array<{ id: number; event_id: number; attempts: number; last_error: string; dead_at: string }>> {
    return guardStore(this.store, async () => {
      const rows = await this.store.db.selectFrom('dead_letters').selectAll().where('subscription_id', '=', id).orderBy('id').limit(limit).execute();
      return rows.map((row) => ({ id: Number(row.id), event_id: Number(row.event_id), attempts: row.attempts, last_error: row.last_error, dead_at: row.dead_at }));
    });
  }
}
