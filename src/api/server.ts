import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import type { EventService } from '../events/event-service.js';
import type { MonitorViewService } from '../monitors/monitor-view.js';
import type { VimRegistry } from '../vims/registry.js';
import { eventRoutes } from './events/routes.js';
import { eventSchema } from './events/schemas.js';
import { HEALTH_COMPONENTS } from './health-schemas.js';
import { isolationSchema, monitorSchema } from './monitors/schemas.js';
import { eventStreamRoute } from './events/stream.js';
import type { Clock } from '../time/clock.js';
import { subscriptionRoutes } from './subscriptions/routes.js';
import type { SubscriptionService } from '../events/subscriptions.js';
import { monitorRoutes } from './monitors/routes.js';
import { clientErrorAnswerer, installErrorHandling, respondWithError } from './error-handler.js';
import { installInputGuards } from './input-guards.js';
import { installBoundedJsonParser } from './json-bounds.js';
import { installMetrics } from './metrics-route.js';
import { installAuthentication } from './request-context.js';
import { uiRoutes } from './ui-routes.js';
import { versionRoutes } from './versions.js';
import { describeSchemaError, vimSchema } from './vims/schemas.js';
import { vimRoutes } from './vims/routes.js';
import { maintenanceRoutes } from './maintenances/routes.js';
import type { MaintenanceService } from '../maintenance/service.js';
import type { MaintenanceCalendar } from '../maintenance/calendar.js';
import { sessionRoutes, type SessionRouteOptions } from '../sessions/session-routes.js';
import type { HistoryReader } from '../history/history-reader.js';
import { historyRoutes } from './history/routes.js';
import { HISTORY_COMPONENTS } from './history/schemas.js';

export interface ApiServerOptions {
  registry: VimRegistry;
  authenticator: Authenticator;
  logger: Logger;
  bodyLimit: number;
  monitors: MonitorViewService;
  events: EventService;
  subscriptions: SubscriptionService;
  /** Maintenance windows (issue 11); absent: no /v1.0/maintenances and no `maintenance` on VIMs (tests of other parts). */
  maintenances?: MaintenanceService;
  /** Which VIMs are in a maintenance window now: shown on VIMs and filterable (`?maintenance=true`). */
  calendar?: MaintenanceCalendar;
  /** Status history and uptime (issue 12); absent: no /v1.0/vims/{id}/history, /v1.0/vims/{id}/uptime, /v1.0/uptime (tests of other parts). */
  history?: HistoryReader;
  clock: Clock;
  /** How often an SSE stream looks for new events, and the commit-order safety lag (outbox.poll_interval, outbox.settle). */
  streamPollMs: number;
  streamSettleMs: number;
  /** Served on GET /metrics, with HTTP request metrics; absent: no /metrics. */
  metrics?: PrometheusMetrics;
  /** Slow-client protection (server.* keys); absent: the defaults of the configuration. */
  limits?: ConnectionLimits;
  /** The dashboard's session API (/ui/session) and, under keystone, cookie authentication; absent: neither. */
  ui?: Omit<SessionRouteOptions, 'clock'>;
  /** Where the built dashboard is served from (default: dist/dashboard of this package). */
  dashboardDir?: string;
}

/** What a client may hold of the server: time to send a request, idle time, connections. */
export interface ConnectionLimits {
  headersTimeoutMs: number;
  /** Receiving the whole request only: Node stops this clock once the request is in, so a long response (an event stream) is not cut. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 512,
};

/** How often Node looks for connections past their headers or request timeout (its default is 30 s, far coarser than the timeouts). */
function timeoutCheckInterval(limits: ConnectionLimits): number {
  return Math.max(20, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)));
}

/** python-tackerclient appends `.json` to every path; routes are declared without it. */
export function stripJsonSuffix(url: string): string {
  return url.replace(/^([^?]*?)\.json(?=\?|$)/, '$1');
}

export async function buildApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const limits = options.limits ?? DEFAULT_CONNECTION_LIMITS;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    // Fastify disables Node's request timeout by default: a body trickling for ever would hold its connection for ever.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: timeoutCheckInterval(limits),
    },
    clientErrorHandler: clientErrorAnswerer(options.logger),
    rewriteUrl: (req) => stripJsonSuffix(req.url ?? '/'),
    routerOptions: { ignoreTrailingSlash: true },
    ajv: {
      // Refuse what we do not know instead of quietly dropping or converting it.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
    schemaErrorFormatter: (errors, dataVar) => new Error(describeSchemaError(errors, dataVar)),
    frameworkErrors: respondWithError,
  });
  app.server.maxConnections = limits.maxConnections;
  logConnectionDrops(app, limits.maxConnections, options.logger);
  installErrorHandling(app);
  installBoundedJsonParser(app);
  installInputGuards(app);
  // Parses cookies in its own onRequest hook, which must run before authentication's.
  await app.register(cookie);
  const sessions = options.ui?.sessions;
  installAuthentication(app, options.authenticator, sessions && { sessions, secureCookie: options.ui?.secureCookie ?? 'auto' });
  if (options.metrics) installMetrics(app, options.metrics);
  installResponseDocumentation(app);
  // Generated from the routes' own validation schemas, so it cannot drift from what is enforced.
  await app.register(swagger, {
    openapi: {
      info: { title: 'vim-monitor', version: '1.0', description: 'Tacker v1.0 compatible VIM registry and monitor' },
      components: { securitySchemes: { keystone: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' } } },
      security: [{ keystone: [] }],
    },
    // Shared schemas appear under their $id in components.schemas (the default would name them def-0, def-1, …).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(versionRoutes);
  await app.register(uiRoutes, { ...(options.dashboardDir !== undefined && { directory: options.dashboardDir }) });
  await app.register(vimRoutes, { registry: options.registry, ...(options.calendar && { calendar: options.calendar }) });
  await app.register(monitorRoutes, { monitors: options.monitors });
  await app.register(eventRoutes, { events: options.events });
  await app.register(eventStreamRoute, {
    events: options.events,
    clock: options.clock,
    pollIntervalMs: options.streamPollMs,
    settleMs: options.streamSettleMs,
    ...(options.metrics && { metrics: options.metrics }),
  });
  await app.register(subscriptionRoutes, { subscriptions: options.subscriptions });
  if (options.history) {
    await app.register(historyRoutes, { reader: options.history, registry: options.registry, ...(options.calendar && { calendar: options.calendar }) });
  }
  if (options.maintenances) await app.register(maintenanceRoutes, { maintenances: options.maintenances, clock: options.clock });
  if (options.ui) await app.register(sessionRoutes, { ...options.ui, clock: options.clock });
  // Served as /v1.0/openapi and /v1.0/openapi.json (the suffix is stripped like every other path).
  app.get('/v1.0/openapi', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  return app;
}

/**
 * Response schemas document the API in the OpenAPI document; they do not
 * shape what is sent. Fastify would otherwise serialise with them
 * (fast-json-stringify), which drops what a schema does not list, reorders
 * keys and coerces types (a null where a string is documented becomes ""):
 * the Tacker wire format must stay exactly what the presenters build, as
 * python-tackerclient reads it. Every response is JSON.stringify of the
 * payload, as it was before the schemas existed; src/api/openapi.test.ts
 * checks real responses against the documented schemas instead.
 */
export function installResponseDocumentation(app: FastifyInstance): void {
  for (const schema of [...HEALTH_COMPONENTS, ...HISTORY_COMPONENTS, vimSchema, monitorSchema, isolationSchema, eventSchema]) app.addSchema(schema);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/** One warning per episode of refused connections (Node closes them at once past maxConnections), with how many were refused. */
function logConnectionDrops(app: FastifyInstance, maxConnections: number, logger: Logger): void {
  let dropped = 0;
  let episode: NodeJS.Timeout | undefined;
  app.server.on('drop', () => {
    dropped += 1;
    if (episode) return;
    logger.warn({ max_connections: maxConnections }, 'connection limit reached (server.max_connections): closing new connections');
    episode = setTimeout(() => {
      logger.warn({ dropped, max_connections: maxConnections }, 'connections refused at the connection limit');
      dropped = 0;
      episode = undefined;
    }, 10_000);
    episode.unref();
  });
}
