import { request } from 'undici';
import type { KeystoneAuthConfig } from '../config/schema.js';
import { UpstreamUnavailableError } from '../errors.js';
import type { Clock } from '../time/clock.js';

export interface ValidatedToken {
  userId: string;
  projectId: string | undefined;
  roles: string[];
  expiresAt: Date;
}

interface TokenBody {
  token?: {
    expires_at?: string;
    user?: { id?: string };
    project?: { id?: string };
    roles?: Array<{ name?: string }>;
  };
}

/** Renew the service token this long before Keystone would expire it. */
const SERVICE_TOKEN_MARGIN_MS = 60_000;

/**
 * The two Keystone v3 calls the API needs: obtaining vim-monitor's own
 * service token (cached until shortly before expiry) and validating a
 * caller's token with it (GET /v3/auth/tokens with X-Subject-Token).
 */
export class KeystoneClient {
  private serviceToken: { value: string; expiresAt: number } | undefined;
  private readonly base: string;

  constructor(
    private readonly config: KeystoneAuthConfig,
    private readonly clock: Clock,
  ) {
    this.base = config.url.replace(/\/+$/, '');
  }

  /** Returns undefined for a token Keystone does not accept (expired, revoked, garbage). */
  async validate(subjectToken: string): Promise<ValidatedToken | undefined> {
    let response = await this.sendValidation(await this.getServiceToken(), subjectToken);
    if (response.status === 401) {
      // Our own token was revoked or expired early: fetch a new one once.
      this.serviceToken = undefined;
      response = await this.sendValidation(await this.getServiceToken(), subjectToken);
    }
    if (response.status === 404 || response.status === 401) return undefined;
    if (response.status !== 200) throw this.unavailable(`token validation answered ${response.status}`);
    const token = (response.body as TokenBody).token;
    if (!token?.user?.id || !token.expires_at) throw this.unavailable('token validation answered without a token');
    return {
      userId: token.user.id,
      projectId: token.project?.id,
      roles: (token.roles ?? []).map((role) => role.name ?? '').filter((name) => name !== ''),
      expiresAt: new Date(token.expires_at),
    };
  }

  private async getServiceToken(): Promise<string> {
    const now = this.clock.now().getTime();
    if (this.serviceToken && this.serviceToken.expiresAt - SERVICE_TOKEN_MARGIN_MS > now) return this.serviceToken.value;
    const body = {
      auth: {
        identity: {
          methods: ['password'],
          password: {
            user: {
              name: this.config.username,
              password: this.config.password,
              domain: { name: this.config.user_domain_name },
            },
          },
        },
        scope: { project: { name: this.config.project_name, domain: { name: this.config.project_domain_name } } },
      },
    };
    const response = await this.call('POST', '/auth/tokens', { 'content-type': 'application/json' }, JSON.stringify(body));
    const token = response.headers['x-subject-token'];
    if (response.status !== 201 || typeof token !== 'string') {
      // Deliberately no credential in the message: the status is what an operator needs.
      throw this.unavailable(`vim-monitor's own Keystone login (auth.keystone.username) failed with status ${response.status}`);
    }
    const expiresAt = Date.parse((response.body as TokenBody).token?.expires_at ?? '');
    this.serviceToken = { value: token, expiresAt: Number.isNaN(expiresAt) ? now + 3_600_000 : expiresAt };
    return token;
  }

  private sendValidation(serviceToken: string, subjectToken: string) {
    return this.call('GET', '/auth/tokens?nocatalog', { 'x-auth-token': serviceToken, 'x-subject-token': subjectToken });
  }

  private async call(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) {
    const timeout = this.config.timeout * 1000;
    try {
      const response = await request(this.base + path, {
        method,
        headers: { accept: 'application/json', ...headers },
        ...(body !== undefined && { body }),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const text = await response.body.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.statusCode, headers: response.headers, body: parsed };
    } catch (error) {
      throw this.unavailable(`cannot reach Keystone at ${this.base}: ${(error as Error).message}`, error);
    }
  }

  private unavailable(reason: string, cause?: unknown): UpstreamUnavailableError {
    return new UpstreamUnavailableError(`Identity service unavailable: ${reason}`, { cause });
  }
}
