import type { FastifyInstance, FastifyRequest } from 'fastify';
import { headerValue, type Authenticator, type SessionAuthenticator } from '../auth/authenticator.js';
import { InternalError, NotAuthenticatedError } from '../errors.js';
import { clearSessionCookie, sessionIdOf, type SecureCookie } from '../sessions/session-cookie.js';
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

/** The dashboard's cookie sessions (auth.strategy keystone): who they authenticate, and how their cookie is cleared. */
export interface CookieAuthentication {
  sessions: SessionAuthenticator;
  secureCookie: SecureCookie;
}

/**
 * Authenticates every request, except on routes marked `config: { public: true }`, before its handler runs.
 * X-Auth-Token wins; without it the dashboard's session cookie is used (with its CSRF check), and a session
 * that has ended clears the cookie along with its 401.
 */
export function installAuthentication(app: FastifyInstance, authenticator: Authenticator, cookies?: CookieAuthentication): void {
  app.decorateRequest('vimContext', null);
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.public === true) return;
    const sessionId = cookies && headerValue(request.headers, 'x-auth-token') === undefined ? sessionIdOf(request) : undefined;
    if (!cookies || sessionId === undefined) {
      request.vimContext = await authenticator.authenticate(request.headers);
      return;
    }
    try {
      request.vimContext = await cookies.sessions.authenticate(sessionId, request.method, headerValue(request.headers, 'x-csrf-token'));
    } catch (error) {
      if (error instanceof NotAuthenticatedError) clearSessionCookie(reply, cookies.secureCookie);
      throw error;
    }
  });
}

export function requestContext(request: FastifyRequest): RequestContext {
  if (!request.vimContext) throw new InternalError('route reached without authentication');
  return request.vimContext;
}
