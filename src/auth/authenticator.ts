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
