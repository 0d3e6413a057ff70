import type { FastifyPluginAsync } from 'fastify';

/** `GET /`: the version document OpenStack clients use for discovery. */
export const versionRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { config: { public: true } }, async (request, reply) => {
    const host = request.headers.host ?? 'localhost';
    const href = `${request.protocol}://${host}/v1.0/`;
    return reply.code(200).send({
      versions: [{ id: 'v1.0', status: 'CURRENT', links: [{ rel: 'self', href }] }],
    });
  });
};
