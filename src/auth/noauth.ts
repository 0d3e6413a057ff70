import type { IncomingHttpHeaders } from 'node:http';
import { InvalidInputError } from '../errors.js';
import type { RequestContext } from '../vims/model.js';
import { headerValue, type Authenticator } from './authenticator.js';

/**
 * No authentication: every caller is an administrator. The tenant is taken
 * from X-Project-Id when given (as OpenStack's noauth middlewares do), else
 * from `auth.noauth.project_id`. Safe only on loopback; serve.ts warns otherwise.
 */
export class NoAuthAuthenticator implements Authenticator {
  readonly strategy = 'noauth' as const;

  constructor(private readonly defaultProjectId: string) {}

  async authenticate(headers: IncomingHttpHeaders): Promise<RequestContext> {
    const projectId = headerValue(headers, 'x-project-id');
    if (projectId !== undefined) checkProjectId(projectId);
    return { projectId: projectId ?? this.defaultProjectId, isAdmin: true };
  }
}

/** The width of every tenant_id column (vims, vim_events, subscriptions). */
export const MAX_PROJECT_ID_LENGTH = 64;

/**
 * The tenant a request acts for becomes a column value: it must fit that
 * column on every database and be printable (Keystone project ids are 32
 * hex digits; names used with noauth are short identifiers).
 */
function checkProjectId(value: string): void {
  if (value.length > MAX_PROJECT_ID_LENGTH) {
    throw new InvalidInputError(`X-Project-Id is longer than ${MAX_PROJECT_ID_LENGTH} characters`);
  }
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new InvalidInputError('X-Project-Id must be printable ASCII without spaces');
  }
}
