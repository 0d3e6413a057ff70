import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { InternalError } from '../errors.js';
import type { RequestContext } from '../vims/model.js';

declare module 'fastify' {
  interface FastifyRequest {
    vimContext: RequestContext | null;
  }
  interface FastifyContextConfig {
    /** Served without authentication (version discovery, API description). */
    public?: boolean;
  }
}

/** Authenticates every request, except on routes marked `config: { public: true }`, before its handler runs. */
export function installAuthentication(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('vimContext', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public === true) return;
    request.vimContext = await authenticator.authenticate(request.headers);
  });
}

export function requestContext(request: FastifyRequest): RequestContext {
  if (!request.vimContext) throw new InternalError('route reached without authentication');
  return request.vimContext;
}
