import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { KeystoneAuthConfig } from '../config/schema.js';
import { NotAuthenticatedError } from '../errors.js';
import type { Clock } from '../time/clock.js';
import type { RequestContext } from '../vims/model.js';
import { headerValue, type Authenticator } from './authenticator.js';
import { KeystoneClient } from './keystone-client.js';

const MAX_CACHED_TOKENS = 10_000;

/**
 * Validates X-Auth-Token against Keystone v3. Successful validations are
 * cached for `cache_ttl` seconds (never past the token's expiry) under a hash
 * of the token, so the cache holds no usable token.
 */
export class KeystoneAuthenticator implements Authenticator {
  readonly strategy = 'keystone' as const;
  private readonly cache = new Map<string, { context: RequestContext; until: number }>();
  private readonly client: KeystoneClient;
  private readonly adminRoles: Set<string>;

  constructor(
    private readonly config: KeystoneAuthConfig,
    private readonly clock: Clock,
    /** Shared with the dashboard's logins, so that one service token serves both. */
    client?: KeystoneClient,
  ) {
    this.client = client ?? new KeystoneClient(config, clock);
    this.adminRoles = new Set(config.admin_roles);
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<RequestContext> {
    const token = headerValue(headers, 'x-auth-token');
    if (!token) throw new NotAuthenticatedError('Authentication required: send a Keystone token in X-Auth-Token');
    const key = cacheKey(token);
    const now = this.clock.now().getTime();
    const cached = this.cache.get(key);
    if (cached && cached.until > now) return cached.context;
    this.cache.delete(key);

    const validated = await this.client.validate(token);
    if (!validated) throw new NotAuthenticatedError('The X-Auth-Token is invalid or expired');
    if (!validated.projectId) throw new NotAuthenticatedError('The X-Auth-Token is not scoped to a project');
    const context: RequestContext = {
      projectId: validated.projectId,
      userId: validated.userId,
      isAdmin: validated.roles.some((role) => this.adminRoles.has(role)),
    };
    const until = Math.min(now + this.config.cache_ttl * 1000, validated.expiresAt.getTime());
    if (this.cache.size >= MAX_CACHED_TOKENS) this.evictOldest();
    this.cache.set(key, { context, until });
    return context;
  }

  /** Drops a token revoked here (dashboard logout) from the cache, so that this process stops accepting it at once. */
  forget(token: string): void {
    this.cache.delete(cacheKey(token));
  }

  private evictOldest(): void {
    const oldest = this.cache.keys().next();
    if (!oldest.done) this.cache.delete(oldest.value);
  }
}

function cacheKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
