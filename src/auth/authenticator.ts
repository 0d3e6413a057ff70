import type { IncomingHttpHeaders } from 'node:http';
import type { RequestContext } from '../vims/model.js';

/** Turns a request's headers into who is calling, or throws a 401/403/503 error. */
export interface Authenticator {
  readonly strategy: 'noauth' | 'keystone';
  authenticate(headers: IncomingHttpHeaders): Promise<RequestContext>;
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/**
 * The dashboard's sessions (src/sessions/sessions.ts): a request that carries the
 * session cookie and no X-Auth-Token is authenticated as the session's
 * Keystone token. `csrfToken` is the X-CSRF-Token header, required on
 * every method that changes something.
 */
export interface SessionAuthenticator {
  authenticate(sessionId: string, method: string, csrfToken: string | undefined): Promise<RequestContext>;
}
