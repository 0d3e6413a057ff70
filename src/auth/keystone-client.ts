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
    user?: { id?: string; name?: string };
    project?: { id?: string; name?: string };
    roles?: Array<{ name?: string }>;
  };
}

/** Who logs in (the dashboard's login form): a user of a domain, scoped to a project of a domain, by names. */
export interface PasswordCredentials {
  username: string;
  password: string;
  userDomain: string;
  project: string;
  projectDomain: string;
}

/** A project-scoped token issued by Keystone, and what Keystone said about it. */
export interface IssuedToken {
  token: string;
  expiresAt: Date;
  userId: string;
  userName: string;
  projectId: string;
  projectName: string;
  roles: string[];
}

/** Renew the service token this long before Keystone would expire it. */
const SERVICE_TOKEN_MARGIN_MS = 60_000;

/**
 * The Keystone v3 calls the service needs: obtaining vim-monitor's own
 * service token (cached until shortly before expiry), validating a caller's
 * token with it (GET /v3/auth/tokens with X-Subject-Token), and for the
 * dashboard's login a user's password login and the revocation of that
 * user's token at logout (DELETE /v3/auth/tokens).
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
    const response = await this.withServiceToken((serviceToken) =>
      this.call('GET', '/auth/tokens?nocatalog', { 'x-auth-token': serviceToken, 'x-subject-token': subjectToken }),
    );
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

  /**
   * A user's password login, scoped to a project: undefined when Keystone
   * refuses the credentials (401: wrong password, unknown user or project,
   * no role on it, disabled user; 400: a name Keystone's own validation
   * refuses). Nothing of the credentials goes into an error: Keystone's
   * answer is reduced to its status.
   */
  async login(credentials: PasswordCredentials): Promise<IssuedToken | undefined> {
    const response = await this.passwordLogin(credentials);
    if (response.status === 400 || response.status === 401 || response.status === 404) return undefined;
    const token = response.headers['x-subject-token'];
    const body = (response.body as TokenBody | undefined)?.token;
    if (response.status !== 201 || typeof token !== 'string') throw this.unavailable(`password login answered ${response.status}`);
    const expiresAt = Date.parse(body?.expires_at ?? '');
    if (!body?.user?.id || !body.project?.id || Number.isNaN(expiresAt)) throw this.unavailable('password login answered without a project-scoped token');
    return {
      token,
      expiresAt: new Date(expiresAt),
      userId: body.user.id,
      userName: body.user.name ?? credentials.username,
      projectId: body.project.id,
      projectName: body.project.name ?? credentials.project,
      roles: (body.roles ?? []).map((role) => role.name ?? '').filter((name) => name !== ''),
    };
  }

  /**
   * Revokes a user's token (logout) with that token itself: Keystone's policy
   * lets the subject of a token revoke it (`token_subject`), whatever roles
   * the service user has. A token Keystone no longer accepts (expired,
   * revoked already: 401 or 404) counts as revoked.
   */
  async revoke(subjectToken: string): Promise<void> {
    const response = await this.call('DELETE', '/auth/tokens', { 'x-auth-token': subjectToken, 'x-subject-token': subjectToken });
    if (response.status !== 204 && response.status !== 401 && response.status !== 404) {
      throw this.unavailable(`token revocation answered ${response.status}`);
    }
  }

  /** Sends a call made with the service token; when Keystone refuses that token (revoked or expired early), fetches a new one once. */
  private async withServiceToken(send: (serviceToken: string) => ReturnType<KeystoneClient['call']>) {
    const response = await send(await this.getServiceToken());
    if (response.status !== 401) return response;
    this.serviceToken = undefined;
    return send(await this.getServiceToken());
  }

  private async getServiceToken(): Promise<string> {
    const now = this.clock.now().getTime();
    if (this.serviceToken && this.serviceToken.expiresAt - SERVICE_TOKEN_MARGIN_MS > now) return this.serviceToken.value;
    const response = await this.passwordLogin({
      username: this.config.username,
      password: this.config.password,
      userDomain: this.config.user_domain_name,
      project: this.config.project_name,
      projectDomain: this.config.project_domain_name,
    });
    const token = response.headers['x-subject-token'];
    if (response.status !== 201 || typeof token !== 'string') {
      // Deliberately no credential in the message: the status is what an operator needs.
      throw this.unavailable(`vim-monitor's own Keystone login (auth.keystone.username) failed with status ${response.status}`);
    }
    const expiresAt = Date.parse((response.body as TokenBody).token?.expires_at ?? '');
    this.serviceToken = { value: token, expiresAt: Number.isNaN(expiresAt) ? now + 3_600_000 : expiresAt };
    return token;
  }

  private passwordLogin(credentials: PasswordCredentials) {
    const body = {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: credentials.username, password: credentials.password, domain: { name: credentials.userDomain } } },
        },
        scope: { project: { name: credentials.project, domain: { name: credentials.projectDomain } } },
      },
    };
    // nocatalog: the catalog is not needed and is most of a token response.
    return this.call('POST', '/auth/tokens?nocatalog', { 'content-type': 'application/json' }, JSON.stringify(body));
  }

  private async call(method: 'GET' | 'POST' | 'DELETE', path: string, headers: Record<string, string>, body?: string) {
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
