import type { FastifyPluginAsync } from 'fastify';
import { InvalidInputError } from '../../errors.js';
import { SafeHorizon } from '../../events/safe-horizon.js';
import { eventToWire, toVimEvent } from '../../events/wire.js';
import type { EventRepository } from '../../store/event-repository.js';
import type { Clock } from '../../time/clock.js';
import { requestContext } from '../request-context.js';

export interface EventStreamOptions {
  events: EventRepository;
  clock: Clock;
  pollIntervalMs: number;
  settleMs: number;
  keepAliveMs?: number;
}

/**
 * `GET /v1.0/events/stream`: Server-Sent Events, one `vim.status` message per
 * stored event, with the event id as the SSE id. A client that reconnects
 * with `Last-Event-ID` (or `?last_event_id=`) gets everything it missed, in
 * order, then live events; without it the stream starts with the next event.
 */
export const eventStreamRoute: FastifyPluginAsync<EventStreamOptions> = async (app, options) => {
  // Streams never end by themselves: a shutdown ends them. preClose, not onClose: Fastify runs onClose
  // hooks only once the HTTP server has closed, and the server waits for these very streams.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });

  app.get<{ Querystring: { last_event_id?: string } }>('/v1.0/events/stream', async (request, reply) => {
    const ctx = requestContext(request);
    const fromHeader = request.headers['last-event-id'];
    const raw = (Array.isArray(fromHeader) ? fromHeader[0] : fromHeader) ?? request.query.last_event_id;
    if (raw !== undefined && !/^\d+$/.test(raw)) throw new InvalidInputError('Last-Event-ID must be an event id (a non-negative integer)');
    let cursor = raw !== undefined ? Number(raw) : await options.events.maxId();
    const horizon = new SafeHorizon(options.clock, options.settleMs);

    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    out.write(': vim-monitor event stream\n\n');
    let open = true;
    let wake: (() => void) | undefined;
    const end = (): void => {
      open = false;
      wake?.();
    };
    streams.add(end);
    // The response's close, not the request's: a GET request "closes" as soon as it has been read.
    out.on('close', end);

    let lastWrite = Date.now();
    while (open) {
      try {
        const upTo = horizon.observe(await options.events.maxId());
        const rows = await options.events.list({
          afterId: cursor,
          upToId: upTo,
          limit: 500,
          ...(!ctx.isAdmin && { tenantIds: [ctx.projectId] }),
        });
        for (const row of rows) {
          const event = toVimEvent(row);
          out.write(`id: ${event.id}\nevent: vim.status\ndata: ${JSON.stringify(eventToWire(event))}\n\n`);
          cursor = event.id;
          lastWrite = Date.now();
        }
        if (rows.length === 0 && upTo > cursor) cursor = upTo; // other tenants' events
        if (rows.length === 500) continue;
      } catch (error) {
        request.log.debug({ err: error }, 'event stream: database unavailable, retrying');
      }
      if (Date.now() - lastWrite > (options.keepAliveMs ?? 15_000)) {
        out.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, options.pollIntervalMs);
      });
    }
    streams.delete(end);
    out.end();
  });
};
