import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../time/clock.js';
import { monotonicMs, timedOutReason } from './deadline.js';
import type { AgentPool } from './http-agents.js';
import { httpExchange, joinUrl, shownUrl, type HttpResult } from './http-exchange.js';
import type { ProbeOutcome, ProbeTarget } from './probe.js';

export interface KeystoneAuthOptions {
  agents: AgentPool;
  clock?: Clock;
  /** Get a new token when the cached one expires within this margin (default 5 min). */
  renewMarginMs?: number;
}

interface CachedToken extends KeystoneSession {
  /** Hash of what the token was issued for: new credentials or scope mean a new token. */
  fingerprint: string;
  regions: string[] | undefined;
}

/** A VIM's current Keystone token as the deep checks use it (catalog requests, expiry figures). The token is a secret. */
export interface KeystoneSession {
  token: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Epoch ms of the user's password expiry, when Keystone reports one ([security_compliance] password_expires_days). */
  passwordExpiresAt?: number;
}

export type KeystoneSessionResult = { ok: true; session: KeystoneSession; fresh: boolean } | { ok: false; reason: string };

interface TokenBody {
  token?: { expires_at?: unknown; project?: { name?: unknown }; user?: { password_expires_at?: unknown } };
}

/**
 * The OpenStack half of the auth probe: a project-scoped password
 * authentication (POST /v3/auth/tokens). The token is cached until shortly
 * before it expires, and each later check validates it (GET /v3/auth/tokens
 * with the token as both X-Auth-Token and X-Subject-Token, which Keystone's
 * default policy allows a token's own subject), so that monitoring does not
 * load Keystone with logins and a revoked token (changed password, disabled
 * user) is noticed by the next check, which then logs in again and fails.
 */
export class KeystoneAuthenticator {
  private readonly cache = new Map<string, CachedToken>();
  private readonly clock: Clock;
  private readonly renewMarginMs: number;

  constructor(private readonly options: KeystoneAuthOptions) {
    this.clock = options.clock ?? systemClock;
    this.renewMarginMs = options.renewMarginMs ?? 300_000;
  }

  async check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const startedAt = monotonicMs();
    const fingerprint = fingerprintOf(target);
    const cached = this.cache.get(target.vimId);
    if (cached && (cached.fingerprint !== fingerprint || cached.expiresAt - this.renewMarginMs <= this.clock.now().getTime())) {
      this.cache.delete(target.vimId);
    } else if (cached) {
      const url = joinUrl(target.authUrl, '/auth/tokens?nocatalog');
      const result = await this.send(target, url, { headers: { 'x-auth-token': cached.token, 'x-subject-token': cached.token }, signal });
      if (!result.ok) return this.failure(result, url, startedAt);
      const { status, latencyMs } = result.response;
      if (status === 200) return { ok: true, latencyMs, reason: `cached Keystone token still valid (HTTP 200 from ${shownUrl(url)})`, ...regionsOf(cached) };
      if (status >= 500) return { ok: false, reason: `HTTP ${status} from ${shownUrl(url)} while validating the cached token` };
      // 401/404: revoked or expired early; 403: a policy that forbids self-validation. Log in again.
      this.cache.delete(target.vimId);
    }
    return this.authenticate(target, fingerprint, signal, startedAt);
  }

  /**
   * The VIM's token for the deep checks: the cached one, without asking
   * Keystone, until it is near expiry; then a new login. One token serves
   * the auth probe and the deep checks.
   */
  async session(target: ProbeTarget, signal: AbortSignal): Promise<KeystoneSessionResult> {
    const fingerprint = fingerprintOf(target);
    const cached = this.cache.get(target.vimId);
    if (cached && cached.fingerprint === fingerprint && cached.expiresAt - this.renewMarginMs > this.clock.now().getTime()) {
      return { ok: true, session: sessionOf(cached), fresh: false };
    }
    this.cache.delete(target.vimId);
    const outcome = await this.authenticate(target, fingerprint, signal, monotonicMs());
    const issued = this.cache.get(target.vimId);
    if (!outcome.ok || !issued) return { ok: false, reason: outcome.reason };
    return { ok: true, session: sessionOf(issued), fresh: true };
  }

  forget(vimId: string): void {
    this.cache.delete(vimId);
  }

  private async authenticate(target: ProbeTarget, fingerprint: string, signal: AbortSignal, startedAt: number): Promise<ProbeOutcome> {
    const url = joinUrl(target.authUrl, '/auth/tokens?nocatalog');
    const result = await this.send(target, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(passwordAuthBody(target)),
      signal,
    });
    if (!result.ok) return this.failure(result, url, startedAt);
    const { status, headers, body, latencyMs } = result.response;
    const token = headers['x-subject-token'];
    if (status === 201 && typeof token === 'string' && token !== '') {
      const issued = parseJson<TokenBody>(body)?.token;
      const expiresAt = keystoneTime(issued?.expires_at);
      const passwordExpiresAt = keystoneTime(issued?.user?.password_expires_at);
      const regions = await this.fetchRegions(target, token, signal);
      this.cache.set(target.vimId, {
        fingerprint,
        token,
        // Without a readable expiry, validate for an hour; Keystone's validation catches an earlier end.
        expiresAt: expiresAt ?? this.clock.now().getTime() + 3_600_000,
        ...(passwordExpiresAt !== undefined && { passwordExpiresAt }),
        regions,
      });
      const scope = target.project.id !== undefined ? `project id ${target.project.id}` : `project ${target.project.name}`;
      return { ok: true, latencyMs, reason: `Keystone issued a token scoped to ${scope} (HTTP 201)`, ...(regions && { regions }) };
    }
    if (status === 401) return { ok: false, latencyMs, reason: 'Keystone rejected the credentials (HTTP 401)' };
    if (status === 400) return { ok: false, latencyMs, reason: 'Keystone refused the authentication request as malformed (HTTP 400): check user_domain_name and vim_project' };
    if (status === 403) return { ok: false, latencyMs, reason: 'Keystone refused the token (HTTP 403): the user may lack a role on the project, or be disabled' };
    if (status === 201) return { ok: false, latencyMs, reason: `HTTP 201 from ${shownUrl(url)} without an X-Subject-Token header` };
    return { ok: false, latencyMs, reason: `HTTP ${status} from ${shownUrl(url)}` };
  }

  /** Best effort, like Tacker's placement lookup: a failure leaves regions unknown, not the check failed. */
  private async fetchRegions(target: ProbeTarget, token: string, signal: AbortSignal): Promise<string[] | undefined> {
    const result = await this.send(target, joinUrl(target.authUrl, '/regions'), { headers: { 'x-auth-token': token }, signal, maxBodyBytes: 1_048_576 });
    if (!result.ok || result.response.status !== 200) return undefined;
    const regions = parseJson<{ regions?: Array<{ id?: unknown }> }>(result.response.body)?.regions;
    if (!Array.isArray(regions)) return undefined;
    return regions.flatMap((r) => (typeof r?.id === 'string' ? [r.id] : []));
  }

  private send(target: ProbeTarget, url: string, req: Parameters<typeof httpExchange>[2]): Promise<HttpResult> {
    const agent = this.options.agents.agentFor(target.vimId, 'keystone-auth', { verify: target.tls.verify, ca: target.tls.ca });
    return httpExchange(agent, url, { ...req, headers: { accept: 'application/json', ...req.headers } });
  }

  private failure(result: Extract<HttpResult, { ok: false }>, url: string, startedAt: number): ProbeOutcome {
    return { ok: false, reason: result.timedOut ? timedOutReason(startedAt) : `${result.reason} (${shownUrl(url)})` };
  }
}

function sessionOf(cached: CachedToken): KeystoneSession {
  return { token: cached.token, expiresAt: cached.expiresAt, ...(cached.passwordExpiresAt !== undefined && { passwordExpiresAt: cached.passwordExpiresAt }) };
}

/** Keystone's timestamps are UTC, with or without a zone ('2026-12-03T01:00:00.000000'); epoch ms, or undefined (null, absent, unreadable). */
function keystoneTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const zoned = /(Z|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : ms;
}

function regionsOf(cached: CachedToken): { regions?: string[] } {
  return cached.regions ? { regions: [...cached.regions] } : {};
}

/** Password authentication scoped to the VIM's project, as Tacker and python-keystoneclient send it. */
export function passwordAuthBody(target: ProbeTarget): unknown {
  const cred = target.credentials;
  const user =
    cred.user_id !== undefined
      ? { id: cred.user_id, password: cred.password }
      : { name: cred.username, password: cred.password, domain: { name: cred.user_domain_name ?? 'Default' } };
  const project =
    target.project.id !== undefined
      ? { id: target.project.id }
      : { name: target.project.name, domain: { name: target.project.project_domain_name ?? 'Default' } };
  return { auth: { identity: { methods: ['password'], password: { user } }, scope: { project } } };
}

function fingerprintOf(target: ProbeTarget): string {
  const { credentials: c, project: p } = target;
  return createHash('sha256')
    .update(JSON.stringify([target.authUrl, c.username, c.user_id, c.password, c.user_domain_name, p.name, p.id, p.project_domain_name]))
    .digest('hex');
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

