import type { Clock } from '../time/clock.js';
import { monotonicMs, timedOutReason } from './deadline.js';
import type { AgentPool, AgentTls } from './http-agents.js';
import { httpExchange, joinUrl, shownUrl, type HttpResult } from './http-exchange.js';
import { OidcTokenSource } from './oidc-token.js';
import type { ProbeOutcome, ProbeTarget } from './probe.js';

export interface KubernetesAuthOptions {
  agents: AgentPool;
  clock?: Clock;
}

type Method = 'bearer_token' | 'client_certificate' | 'oidc' | 'basic';

/** The method the registry validated exactly one of (vims/credentials.ts). */
function methodOf(cred: ProbeTarget['credentials']): Method | undefined {
  if (cred.oidc_token_url !== undefined) return 'oidc';
  if (cred.bearer_token !== undefined) return 'bearer_token';
  if (cred.client_cert !== undefined && cred.client_key !== undefined) return 'client_certificate';
  if (cred.username !== undefined && cred.password !== undefined) return 'basic';
  return undefined;
}

const METHOD_NAMES: Record<Method, string> = {
  bearer_token: 'bearer token',
  client_certificate: 'client certificate',
  oidc: 'OIDC id_token',
  basic: 'basic auth',
};

/**
 * The Kubernetes half of the auth probe: GET /api with the VIM's
 * credentials. 401 means the credentials are broken; 200 and 403 mean the
 * API server knows who we are (403: authenticated, but not allowed to read
 * /api), except a 403 for "system:anonymous", which means the credentials
 * were not accepted at all (a client certificate from another CA is silently
 * treated as anonymous). Regions are the namespaces the user may list, or the
 * VIM's own namespace.
 */
export class KubernetesAuthenticator {
  /** Shared with the deep checks (credentials, capacity): one id_token per VIM serves them all. */
  readonly oidc: OidcTokenSource;

  constructor(private readonly options: KubernetesAuthOptions) {
    this.oidc = new OidcTokenSource(options.agents, options.clock);
  }

  async check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const startedAt = monotonicMs();
    const method = methodOf(target.credentials);
    if (!method) return { ok: false, reason: 'auth_cred holds no complete Kubernetes authentication method' };

    let headers = await this.authHeaders(target, method, signal);
    if ('reason' in headers) return { ok: false, reason: headers.timedOut ? timedOutReason(startedAt) : headers.reason };
    const url = joinUrl(target.authUrl, '/api');
    let result = await this.get(target, method, url, headers.headers, signal);
    if (result.ok && result.response.status === 401 && method === 'oidc' && headers.fromCache) {
      // The provider may have rotated keys or ended the session: one fresh id_token before judging.
      this.oidc.invalidate(target.vimId);
      headers = await this.authHeaders(target, method, signal);
      if ('reason' in headers) return { ok: false, reason: headers.timedOut ? timedOutReason(startedAt) : headers.reason };
      result = await this.get(target, method, url, headers.headers, signal);
    }
    if (!result.ok) return { ok: false, reason: result.timedOut ? timedOutReason(startedAt) : `${result.reason} (${shownUrl(url)})` };

    const { status, body, latencyMs } = result.response;
    const how = METHOD_NAMES[method];
    if (status === 401) return { ok: false, latencyMs, reason: `the API server rejected the ${how} (HTTP 401)` };
    if (status === 403 && body.includes('system:anonymous')) {
      return { ok: false, latencyMs, reason: `the API server did not accept the ${how}: it treated the request as anonymous (HTTP 403)` };
    }
    if (status === 200 || status === 403) {
      const regions = status === 200 ? await this.namespaces(target, method, headers.headers, signal) : [target.project.name];
      const reason = status === 200 ? `authenticated with the ${how} (HTTP 200 from ${shownUrl(url)})` : `authenticated with the ${how}, but not allowed to read ${shownUrl(url)} (HTTP 403)`;
      return { ok: true, latencyMs, reason, regions };
    }
    return { ok: false, latencyMs, reason: `HTTP ${status} from ${shownUrl(url)}` };
  }

  forget(vimId: string): void {
    this.oidc.forget(vimId);
  }

  private async authHeaders(
    target: ProbeTarget,
    method: Method,
    signal: AbortSignal,
  ): Promise<{ headers: Record<string, string>; fromCache: boolean } | { reason: string; timedOut: boolean }> {
    const cred = target.credentials;
    if (method === 'bearer_token') return { headers: { authorization: `Bearer ${cred.bearer_token}` }, fromCache: false };
    if (method === 'basic') return { headers: { authorization: `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}` }, fromCache: false };
    if (method === 'client_certificate') return { headers: {}, fromCache: false };
    const token = await this.oidc.idToken(target, signal);
    if (!token.ok) return { reason: token.reason, timedOut: token.timedOut };
    return { headers: { authorization: `Bearer ${token.idToken}` }, fromCache: token.fromCache };
  }

  /** The namespaces the user may list; the VIM's own namespace when listing is not allowed or fails. */
  private async namespaces(target: ProbeTarget, method: Method, headers: Record<string, string>, signal: AbortSignal): Promise<string[]> {
    const result = await this.get(target, method, joinUrl(target.authUrl, '/api/v1/namespaces?limit=500'), headers, signal, 8_388_608);
    if (result.ok && result.response.status === 200) {
      try {
        const list = JSON.parse(result.response.body) as { items?: Array<{ metadata?: { name?: unknown } }> };
        const names = (list.items ?? []).flatMap((item) => (typeof item?.metadata?.name === 'string' ? [item.metadata.name] : []));
        if (names.length > 0) return names;
      } catch {
        // cut off or not JSON: fall through to the VIM's namespace
      }
    }
    return [target.project.name];
  }

  private get(target: ProbeTarget, method: Method, url: string, headers: Record<string, string>, signal: AbortSignal, maxBodyBytes?: number): Promise<HttpResult> {
    const tls: AgentTls = { verify: target.tls.verify, ca: target.tls.ca };
    if (method === 'client_certificate') Object.assign(tls, { cert: target.credentials.client_cert, key: target.credentials.client_key });
    const agent = this.options.agents.agentFor(target.vimId, 'kube-auth', tls);
    return httpExchange(agent, url, { headers: { accept: 'application/json', ...headers }, signal, ...(maxBodyBytes !== undefined && { maxBodyBytes }) });
  }
}
