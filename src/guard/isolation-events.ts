import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { isStoreOutage } from '../errors.js';
import type { WorkerIsolationUpdate } from '../events/vim-event.js';
import { ISOLATION_EVENT_TYPE } from '../events/wire.js';
import { guardStore, type Store } from '../store/database.js';

/** An isolation event waiting to be stored. */
export interface PendingIsolationEvent {
  update: WorkerIsolationUpdate;
  reason: string;
  /** Tacker timestamp of the decision (not of the write, which may come after an outage). */
  at: string;
}

/**
 * Stores a worker's isolation events in vim_events, the outbox every sink
 * reads (webhooks, AMQP, SSE), as event_type ISOLATION. The row belongs to no
 * tenant (tenant_id ''), so only administrators see it. Isolation often comes
 * with a database outage (the same cut): an event that cannot be stored is
 * kept, in order, and written at the next flush; none is lost, none doubled.
 */
export class IsolationEventLog {
  private readonly pending: PendingIsolationEvent[] = [];
  private writing = false;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  /** Queues the event and starts storing what is queued; never waits for the database, never throws. */
  record(event: PendingIsolationEvent): void {
    this.pending.push(event);
    void this.flush().catch(() => undefined);
  }

  get backlog(): number {
    return this.pending.length;
  }

  /** Writes what is queued, oldest first; stops at the first outage (the next call tries again). One writer at a time: a call while one runs returns at once (the running one takes what was added). */
  async flush(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const head = this.pending[0]!;
        try {
          await this.insert(head);
        } catch (error) {
          if (isStoreOutage(error)) return;
          // Not an outage: the row itself is wrong. Dropped with an error rather than retried forever.
          this.pending.shift();
          this.logger.error({ err: error, worker: head.update.worker }, 'isolation event could not be stored and was dropped');
          continue;
        }
        this.pending.shift();
      }
    } finally {
      this.writing = false;
    }
  }

  private async insert({ update, reason, at }: PendingIsolationEvent): Promise<void> {
    const { worker, ...detail } = update;
    await guardStore(this.store, () =>
      this.store.db
        .insertInto('vim_events')
        .values({
          vim_id: workerResourceId(worker),
          vim_name: worker,
          tenant_id: '',
          monitor_id: '',
          event_type: ISOLATION_EVENT_TYPE,
          old_status: update.oldState,
          new_status: update.newState,
          reason,
          detail: JSON.stringify({ isolation: detail }),
          created_at: at,
        })
        .execute(),
    );
  }
}

/** vim_events.vim_id is an id's width (36): a worker's name (up to 128) is kept in vim_name, a digest of it here. */
export function workerResourceId(worker: string): string {
  return `worker-${createHash('sha256').update(worker).digest('hex').slice(0, 29)}`;
}
