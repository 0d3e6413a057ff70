import type { FastifyPluginAsync } from 'fastify';
import { prefersHtml } from './accept.js';

/** `GET /`: the version document OpenStack clients use for discovery; a browser is sent to the dashboard. */
export const versionRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { config: { public: true } }, async (request, reply) => {
    // Caches must key the answer on Accept: the same URL is a redirect for one client and JSON for another.
    void reply.header('vary', 'Accept');
    if (prefersHtml(request.headers.accept)) return reply.redirect('/ui/', 302);
    const host = request.headers.host ?? 'localhost';
    const href = `${request.protocol}://${host}/v1.0/`;
    return reply.code(200).send({
      versions: [{ id: 'v1.0', status: 'CURRENT', links: [{ rel: 'self', href }] }],
    });
  });
};
