import { api, query } from './api';
import type { VimEvent } from './types';

const PAGE = 1000;
const MAX_PAGES = 5;

/**
 * The latest events since a time, newest first. The API lists oldest first
 * from `since`; pages are followed (at most a few) so that a busy period
 * shows its latest events, not its first ones.
 */
export async function latestEvents(options: { since: Date; resourceId?: string; eventTypes?: string[]; keep: number }): Promise<VimEvent[]> {
  let events: VimEvent[] = [];
  let afterId: number | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const params = {
      since: options.since.toISOString(),
      limit: PAGE,
      resource_id: options.resourceId,
      event_type: options.eventTypes,
      after_id: afterId,
    };
    const { events: batch } = await api<{ events: VimEvent[] }>('GET', `/v1.0/events${query(params)}`);
    events = events.concat(batch).slice(-options.keep);
    if (batch.length < PAGE) break;
    afterId = batch[batch.length - 1]?.id;
  }
  return events.reverse();
}
