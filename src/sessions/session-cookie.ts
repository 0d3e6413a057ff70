import type { FastifyReply, FastifyRequest } from 'fastify';
import type { UiConfig } from '../config/schema.js';

/** The dashboard's session cookie (contract of issue 12). */
export const SESSION_COOKIE = 'vim_monitor_session';

export type SecureCookie = UiConfig['secure_cookie'];

/**
 * HttpOnly: scripts never read it. SameSite=Strict: no other site's page
 * makes the browser send it. Path=/: /ui and /v1.0 both get it.
 */
function attributes(secure: SecureCookie) {
  return {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    // 'auto': Secure when this request came over TLS (@fastify/cookie reads request.protocol).
    secure: secure === 'auto' ? 'auto' : secure === 'always',
  } as const;
}

export function sessionIdOf(request: FastifyRequest): string | undefined {
  const value = request.cookies[SESSION_COOKIE];
  return value === undefined || value === '' ? undefined : value;
}

export function setSessionCookie(reply: FastifyReply, sessionId: string, expiresAt: Date, secure: SecureCookie, now: Date): void {
  // Rounded up: a browser drops a cookie with Max-Age=0 at once, and the server enforces the expiry anyway.
  const maxAge = Math.max(1, Math.ceil((expiresAt.getTime() - now.getTime()) / 1000));
  void reply.setCookie(SESSION_COOKIE, sessionId, { ...attributes(secure), expires: expiresAt, maxAge });
}

export function clearSessionCookie(reply: FastifyReply, secure: SecureCookie): void {
  void reply.clearCookie(SESSION_COOKIE, attributes(secure));
}
