import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../time/clock.js';
import type { AgentPool } from './http-agents.js';
import { httpExchange, shownUrl } from './http-exchange.js';
import type { ProbeTarget } from './probe.js';

export type IdTokenResult = { ok: true; idToken: string; fromCache: boolean } | { ok: false; timedOut: boolean; reason: string };

interface Cached {
  fingerprint: string;
  idToken: string;
  expiresAt: number;
}

/** Renew an id_token this long before it expires, so it is not refused mid-check. */
const RENEW_MARGIN_MS = 30_000;
const OAUTH_ERROR = /^[a-z_]{1,64}$/;

/**
 * id_tokens for Kubernetes VIMs that authenticate through OpenID Connect,
 * obtained the way Tacker does: the resource-owner password grant at
 * oidc_token_url (client_id, optional client_secret, username, password,
 * scope openid). A token is cached per VIM until shortly before its `exp`.
 */
export class OidcTokenSource {
  private readonly cache = new Map<string, Cached>();
  private readonly clock: Clock;

  constructor(
    private readonly agents: AgentPool,
    clock?: Clock,
  ) {
    this.clock = clock ?? systemClock;
  }

  async idToken(target: ProbeTarget, signal: AbortSignal): Promise<IdTokenResult> {
    const cred = target.credentials;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([cred.oidc_token_url, cred.client_id, cred.client_secret, cred.username, cred.password]))
      .digest('hex');
    const cached = this.cache.get(target.vimId);
    if (cached && cached.fingerprint === fingerprint && cached.expiresAt - RENEW_MARGIN_MS > this.clock.now().getTime()) {
      return { ok: true, idToken: cached.idToken, fromCache: true };
    }
    this.cache.delete(target.vimId);

    const url = cred.oidc_token_url ?? '';
    const form = new URLSearchParams({ grant_type: 'password', client_id: cred.client_id ?? '', username: cred.username ?? '', password: cred.password ?? '', scope: 'openid' });
    if (cred.client_secret !== undefined) form.set('client_secret', cred.client_secret);
    // The provider is often a public site: trust the system's roots besides the VIM's CA.
    const agent = this.agents.agentFor(target.vimId, 'oidc', { verify: target.tls.verify, ca: target.tls.ca, addSystemRoots: true });
    const result = await httpExchange(agent, url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal,
    });
    if (!result.ok) return { ok: false, timedOut: result.timedOut, reason: `${result.reason} (OIDC provider ${shownUrl(url)})` };
    const { status, body } = result.response;
    const answer = parseJson(body);
    if (status !== 200) {
      // OAuth error codes are fixed words (invalid_grant, invalid_client); the description is not echoed.
      const code = typeof answer?.error === 'string' && OAUTH_ERROR.test(answer.error) ? ` ${answer.error}` : '';
      const rejected = status === 400 || status === 401;
      return { ok: false, timedOut: false, reason: rejected ? `the OIDC provider rejected the credentials (HTTP ${status}${code})` : `HTTP ${status}${code} from OIDC provider ${shownUrl(url)}` };
    }
    const idToken = answer?.id_token;
    if (typeof idToken !== 'string' || idToken === '') {
      return { ok: false, timedOut: false, reason: 'the OIDC provider answered without an id_token (is the scope openid allowed for this client?)' };
    }
    this.cache.set(target.vimId, { fingerprint, idToken, expiresAt: this.expiryOf(idToken, answer?.expires_in) });
    return { ok: true, idToken, fromCache: false };
  }

  /** Drops a token the API server refused (rotated keys, revoked session). */
  invalidate(vimId: string): void {
    this.cache.delete(vimId);
  }

  forget(vimId: string): void {
    this.cache.delete(vimId);
  }

  /** The id_token's own `exp` (it is what the API server checks), else expires_in, else five minutes. */
  private expiryOf(idToken: string, expiresIn: unknown): number {
    const payload = idToken.split('.')[1];
    if (payload !== undefined) {
      const exp = parseJson(Buffer.from(payload, 'base64url').toString('utf8'))?.exp;
      if (typeof exp === 'number' && Number.isFinite(exp)) return exp * 1000;
    }
    const now = this.clock.now().getTime();
    return typeof expiresIn === 'number' && expiresIn > 0 ? now + expiresIn * 1000 : now + 300_000;
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
