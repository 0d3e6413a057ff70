import { tenantScope } from '../auth/visibility.js';
import type { EventQuery, EventRepository, EventRow } from '../store/event-repository.js';
import type { RequestContext } from '../vims/model.js';

export interface EventListQuery {
  vimIds?: string[];
  /** MONITOR (status changes) and/or HEALTH (condition changes); all when absent. */
  eventTypes?: string[];
  /** Tacker-format timestamp: events strictly after it. */
  since?: string;
  /** Events with a larger id (resume from the last one seen). */
  afterId?: number;
  limit: number;
}

export interface EventPageQuery {
  afterId: number;
  /** The reader's safe horizon: events up to this id only. */
  upToId: number;
  limit: number;
}

/**
 * The event history as a caller may read it: a member sees the events of
 * its own project (also of VIMs since deleted), an administrator all.
 */
export class EventService {
  constructor(private readonly repository: EventRepository) {}

  async list(ctx: RequestContext, query: EventListQuery): Promise<EventRow[]> {
    return this.visible(ctx, query);
  }

  /** The next page of a stream after `afterId`: the caller's events, oldest first. */
  async page(ctx: RequestContext, query: EventPageQuery): Promise<EventRow[]> {
    return this.visible(ctx, query);
  }

  /** The newest event id of any tenant: where a stream starts, and how far a reader may move past events it cannot see. */
  async latestId(): Promise<number> {
    return this.repository.maxId();
  }

  private async visible(ctx: RequestContext, query: Omit<EventQuery, 'tenantIds' | 'statuses'>): Promise<EventRow[]> {
    const tenantIds = tenantScope(ctx).narrow(undefined);
    return this.repository.list({ ...query, ...(tenantIds && { tenantIds }) });
  }
}
