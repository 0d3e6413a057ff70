import { monotonicMs, timedOutReason } from './deadline.js';
import { AgentPool } from './http-agents.js';
import { httpExchange, joinUrl, shownUrl, type HttpResponse } from './http-exchange.js';
import type { Probe, ProbeOutcome, ProbeTarget } from './probe.js';

export interface ApiProbeOptions {
  /** Connection pools per VIM; pass one to share it with other probes. */
  agents?: AgentPool;
}

/**
 * An unauthenticated GET of the VIM's service endpoint: is the service
 * serving? OpenStack: the Keystone version document at auth_url.
 * Kubernetes: the API server's /readyz. See docs/probes.md for the table of
 * answers and what each one means.
 */
export class ApiProbe implements Probe {
  readonly name = 'api' as const;
  private readonly agents: AgentPool;
  private readonly ownsAgents: boolean;

  constructor(options: ApiProbeOptions = {}) {
    this.agents = options.agents ?? new AgentPool();
    this.ownsAgents = options.agents === undefined;
  }

  async check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const startedAt = monotonicMs();
    const url = target.type === 'kubernetes' ? joinUrl(target.authUrl, '/readyz') : target.authUrl;
    const agent = this.agents.agentFor(target.vimId, 'api', { verify: target.tls.verify, ca: target.tls.ca });
    const result = await httpExchange(agent, url, { headers: { accept: target.type === 'kubernetes' ? 'text/plain' : 'application/json' }, signal });
    if (!result.ok) return { ok: false, reason: result.timedOut ? timedOutReason(startedAt) : `${result.reason} (${shownUrl(url)})` };
    const verdict = target.type === 'kubernetes' ? judgeReadyz(result.response, shownUrl(url)) : judgeKeystone(result.response, shownUrl(url));
    return { ...verdict, latencyMs: result.response.latencyMs };
  }

  forget(vimId: string): void {
    this.agents.forget(vimId);
  }

  async close(): Promise<void> {
    if (this.ownsAgents) await this.agents.close();
  }
}

type Verdict = { ok: boolean; reason: string };

/** Keystone answers 200 on /v3 and 300 (multiple choices) on /. */
export function judgeKeystone({ status }: HttpResponse, url: string): Verdict {
  const head = `HTTP ${status} from ${url}`;
  if (status >= 200 && status < 400) return { ok: true, reason: head };
  // Something serves there and asks who we are (a gateway in front of Keystone): the service is up.
  if (status === 401 || status === 403) return { ok: true, reason: `${head}: the server answers but requires authentication` };
  // Throttled is busy, not down; thresholds should not page anyone for it.
  if (status === 429) return { ok: true, reason: `${head}: rate limited, but serving` };
  if (status >= 500) return { ok: false, reason: head };
  return { ok: false, reason: `${head}: no identity service answers at this URL` };
}

/** kube-apiserver's /readyz: 200 'ok' when ready, 500 listing failed checks as '[-]name failed…' when not. */
export function judgeReadyz({ status, body }: HttpResponse, url: string): Verdict {
  const head = `HTTP ${status} from ${url}`;
  if (status === 200) {
    if (body.trim() === 'ok') return { ok: true, reason: `${head}: ok` };
    // A 200 that is not the API server's answer: a proxy's or a login page.
    return { ok: false, reason: `${head}, but the body is not 'ok': no Kubernetes API server answers at this URL` };
  }
  if (status === 401 || status === 403) return { ok: true, reason: `${head}: anonymous access is disabled; the API server answers` };
  if (status === 429) return { ok: true, reason: `${head}: rate limited, but serving` };
  if (status >= 500) {
    const failed = [...body.matchAll(/^\[-\]([\w.:/-]+) failed/gm)].map((m) => m[1]).slice(0, 5);
    return { ok: false, reason: failed.length > 0 ? `${head}: not ready (failed: ${failed.join(', ')})` : head };
  }
  return { ok: false, reason: `${head}: no Kubernetes API server answers at this URL` };
}
