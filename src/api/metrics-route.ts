import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { PrometheusMetrics } from '../metrics/prometheus.js';

export const METRICS_PATH = '/metrics';

/**
 * `GET /metrics`: Prometheus text exposition, without authentication (as most
 * exporters) and left out of the OpenAPI document. Also counts and times every
 * other API request by method, route pattern (never the raw URL) and status.
 *
 * Call on the root instance before the routes are registered, so the hook
 * applies to all of them.
 */
export function installMetrics(app: FastifyInstance, metrics: PrometheusMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === METRICS_PATH) return;
    metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  // Streamed: at 10,000 VIMs the exposition is 4.9 MB of text, written a slice of VIMs at a time
  // as the client reads it instead of held whole (issue 13).
  app.get(METRICS_PATH, { schema: { hide: true }, config: { public: true } }, async (_request, reply) => {
    return reply.type(metrics.contentType).send(Readable.from(metrics.exposition()));
  });
}
