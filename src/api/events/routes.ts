import type { FastifyPluginAsync } from 'fastify';
import { InvalidInputError } from '../../errors.js';
import { EVENT_TYPES, eventToWire, toVimEvent, VIM_EVENT_TYPES } from '../../events/wire.js';
import type { EventService } from '../../events/event-service.js';
import { parseNonNegativeInteger, parseUtcTimestamp } from '../input-guards.js';
import { requestContext } from '../request-context.js';
import { eventListResponse } from './schemas.js';

export interface EventRoutesOptions {
  events: EventService;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const QUERY_KEYS = new Set(['resource_id', 'event_type', 'since', 'after_id', 'limit']);

/** `GET /v1.0/events?resource_id=…&event_type=…&since=…&after_id=…&limit=…`: status changes (MONITOR) and condition changes (HEALTH), oldest first; a worker's isolation (ISOLATION) when asked for. */
// Which tenants' events a caller sees is the service's business (events/event-service.ts).
export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (app, { events }) => {
  app.get<{ Querystring: Record<string, string | string[]> }>('/v1.0/events', { schema: { response: { 200: eventListResponse } } }, async (request) => {
    const ctx = requestContext(request);
    const query = request.query;
    for (const key of Object.keys(query)) {
      if (!QUERY_KEYS.has(key)) throw new InvalidInputError(`Unknown query parameter '${key}'; use resource_id, event_type, since, after_id, limit`);
    }
    const single = (key: string): string | undefined => {
      const value = query[key];
      return Array.isArray(value) ? value[value.length - 1] : value;
    };
    const resourceIds = query.resource_id === undefined ? undefined : ([] as string[]).concat(query.resource_id);
    const eventTypes = query.event_type === undefined ? undefined : ([] as string[]).concat(query.event_type);
    const unknownType = eventTypes?.find((type) => !(EVENT_TYPES as readonly string[]).includes(type));
    if (unknownType !== undefined) throw new InvalidInputError(`Unknown event_type '${unknownType}'; use ${EVENT_TYPES.join(' or ')}`);
    const since = single('since');
    const limit = parseNonNegativeInteger(single('limit'), 'limit') ?? DEFAULT_LIMIT;
    if (limit < 1 || limit > MAX_LIMIT) throw new InvalidInputError(`limit must be between 1 and ${MAX_LIMIT}`);
    const afterId = parseNonNegativeInteger(single('after_id'), 'after_id');
    const rows = await events.list(ctx, {
      ...(resourceIds && { vimIds: resourceIds }),
      // Unasked, a listing stays one of VIM events (Tacker's resource_type vim): a worker's ISOLATION events come when named.
      eventTypes: eventTypes ?? [...VIM_EVENT_TYPES],
      ...(since !== undefined && { since: parseUtcTimestamp(since, 'since') }),
      ...(afterId !== undefined && { afterId }),
      limit,
    });
    return { events: rows.map((row) => eventToWire(toVimEvent(row))) };
  });
};
