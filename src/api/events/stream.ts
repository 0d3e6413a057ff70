import type { FastifyPluginAsync } from 'fastify';
import { parseNonNegativeInteger } from '../input-guards.js';
import { SafeHorizon } from '../../events/safe-horizon.js';
import type { VimEvent } from '../../events/vim-event.js';
import { eventToWire, toVimEvent } from '../../events/wire.js';
import type { EventService } from '../../events/event-service.js';
import { BackgroundErrors, type BackgroundErrorCounter } from '../../time/background-errors.js';
import type { Clock } from '../../time/clock.js';
import { PeriodicTask, type Timer } from '../../time/periodic-task.js';
import { requestContext } from '../request-context.js';

export interface EventStreamOptions {
  events: EventService;
  clock: Clock;
  pollIntervalMs: number;
  settleMs: number;
  keepAliveMs?: number;
  metrics?: BackgroundErrorCounter;
  timer?: Timer;
}

/**
 * `GET /v1.0/events/stream`: Server-Sent Events, one `vim.status` message per
 * stored event, with the event id as the SSE id. A client that reconnects
 * with `Last-Event-ID` (or `?last_event_id=`) gets everything it missed, in
 * order, then live events; without it the stream starts with the next event.
 */
/** The SSE event name: a client listening for vim.status sees what it always saw; a worker's isolation is named as in oslo notifications. */
function sseEventName(event: VimEvent): string {
  if (event.kind === 'isolation') return event.isolation?.newState === 'ISOLATED' ? 'monitor.isolated' : 'monitor.isolation_ended';
  return event.kind === 'health' ? 'vim.health' : 'vim.status';
}

export const eventStreamRoute: FastifyPluginAsync<EventStreamOptions> = async (app, options) => {
  // Streams never end by themselves: a shutdown ends them. preClose, not onClose: Fastify runs onClose
  // hooks only once the HTTP server has closed, and the server waits for these very streams.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });
  // One policy for every stream: an outage is one warning, not one per connected client.
  const errors = new BackgroundErrors('event_stream', {
    logger: app.log,
    clock: options.clock,
    metrics: options.metrics,
    outageMessage: 'event stream: database unavailable, retrying',
  });

  app.get<{ Querystring: { last_event_id?: string } }>('/v1.0/events/stream', async (request, reply) => {
    const ctx = requestContext(request);
    const fromHeader = request.headers['last-event-id'];
    const raw = (Array.isArray(fromHeader) ? fromHeader[0] : fromHeader) ?? request.query.last_event_id;
    let cursor = parseNonNegativeInteger(raw, 'Last-Event-ID') ?? (await options.events.latestId());
    const horizon = new SafeHorizon(options.clock, options.settleMs);

    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    out.write(': vim-monitor event stream\n\n');
    let lastWrite = Date.now();
    const keepAlive = (): void => {
      if (Date.now() - lastWrite <= (options.keepAliveMs ?? 15_000)) return;
      out.write(': keep-alive\n\n');
      lastWrite = Date.now();
    };
    /** Sends what is stored after the cursor: 500 at a time until none is left. */
    const poll = async (): Promise<void> => {
      for (;;) {
        const upTo = horizon.observe(await options.events.latestId());
        const rows = await options.events.page(ctx, { afterId: cursor, upToId: upTo, limit: 500 });
        for (const row of rows) {
          const event = toVimEvent(row);
          // A condition change is its own SSE event name, so a client listening for vim.status sees what it always saw.
          out.write(`id: ${event.id}\nevent: ${sseEventName(event)}\ndata: ${JSON.stringify(eventToWire(event))}\n\n`);
          cursor = event.id;
          lastWrite = Date.now();
        }
        if (rows.length === 0 && upTo > cursor) cursor = upTo; // other tenants' events
        if (rows.length < 500) return;
      }
    };
    const poller = new PeriodicTask({
      run: async () => {
        try {
          await poll();
        } finally {
          keepAlive();
        }
      },
      intervalMs: options.pollIntervalMs,
      immediate: true,
      errors,
      ...(options.timer && { timer: options.timer }),
    });
    let end = (): void => undefined;
    const ended = new Promise<void>((resolve) => {
      end = () => void poller.stop().then(resolve);
    });
    streams.add(end);
    // The response's close, not the request's: a GET request "closes" as soon as it has been read.
    out.on('close', end);
    poller.start();
    await ended;
    streams.delete(end);
    out.end();
  });
};
