import type { IncomingHttpHeaders } from 'node:http';
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
    return { projectId: headerValue(headers, 'x-project-id') ?? this.defaultProjectId, isAdmin: true };
  }
}
