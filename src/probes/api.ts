import type { EgressGuard, GuardedResolution, ResolvedAddress } from '../net/egress-guard.js';
import { beforeDeadline, DEADLINE_PASSED } from '../time/deadline.js';
import { monotonicMs, timedOutReason } from './deadline.js';
import { unchunk } from './engine/chunked-body.js';
import { HttpTargets, type HttpTarget, type HttpTargetSpec } from './engine/http-targets.js';
import { ABORTED, CLOSED, ENGINE_ERROR, type EngineReply, type ProbeEngine } from './engine/probe-engine.js';
import { AgentPool } from './http-agents.js';
import { httpExchange, joinUrl, shownUrl, type HttpResponse } from './http-exchange.js';
import { describeNetworkError } from './network-error.js';
import type { Probe, ProbeOutcome, ProbeTarget } from './probe.js';
import { probeTargetGuard } from './target-policy.js';

export interface ApiProbeOptions {
  /** Connection pools per VIM; pass one to share it with other probes (the Node.js path). */
  agents?: AgentPool;
  /** The native probe engine: exchanges go through it instead of node:http. */
  engine?: ProbeEngine;
  /** The probe target policy of the engine path (the Node.js path uses its agents' guard); by default the built-in one. */
  guard?: EgressGuard;
}

/** /readyz answers 'ok', or a list of checks: enough to judge, and the rest is not read. */
const READYZ_MAX_BODY = 4096;

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
  /** The engine path, when an engine is given. */
  private readonly native: { engine: ProbeEngine; targets: HttpTargets } | undefined;
  private readonly guard: EgressGuard;

  constructor(options: ApiProbeOptions = {}) {
    this.agents = options.agents ?? new AgentPool(options.guard ? { guard: options.guard } : {});
    this.ownsAgents = options.agents === undefined;
    this.guard = options.guard ?? probeTargetGuard();
    this.native = options.engine && { engine: options.engine, targets: new HttpTargets(options.engine, this.guard, exchangeOf) };
  }

  check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    return this.native === undefined ? this.checkWithNode(target, signal) : this.checkWithEngine(this.native.engine, this.native.targets, target, signal);
  }

  private async checkWithNode(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const startedAt = monotonicMs();
    const url = target.type === 'kubernetes' ? joinUrl(target.authUrl, '/readyz') : target.authUrl;
    const agent = this.agents.agentFor(target.vimId, 'api', { verify: target.tls.verify, ca: target.tls.ca });
    const result = await httpExchange(agent, url, { headers: { accept: target.type === 'kubernetes' ? 'text/plain' : 'application/json' }, signal });
    if (!result.ok) return { ok: false, reason: result.timedOut ? timedOutReason(startedAt) : `${result.reason} (${shownUrl(url)})` };
    const verdict = target.type === 'kubernetes' ? judgeReadyz(result.response, shownUrl(url)) : judgeKeystone(result.response, shownUrl(url));
    return { ...verdict, latencyMs: result.response.latencyMs };
  }

  /**
   * The same exchange on the native engine: the VIM's request is built and
   * defined once, a check hands the engine its target key and deadline. A
   * host name is resolved and checked by the guard on every check, as on the
   * Node.js path; nothing is sent to a host the guard refuses. An IP literal
   * (the usual auth_url) needs no lookup, and its check no async frame of its
   * own: only the engine's promise and one `then` (issue 13: a suspended
   * async function here was most of a check's garbage).
   */
  private checkWithEngine(engine: ProbeEngine, targets: HttpTargets, target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    const startedAt = monotonicMs();
    const vim = targets.targetFor(target);
    if (typeof vim === 'string') return Promise.resolve({ ok: false, reason: `${vim} (${shownUrl(target.authUrl)})` });
    const kubernetes = target.type === 'kubernetes';
    if (vim.literal !== undefined) return this.exchange(engine, targets, vim, vim.literal, kubernetes, signal, startedAt);
    return this.resolveAndExchange(engine, targets, vim, kubernetes, signal, startedAt);
  }

  private async resolveAndExchange(
    engine: ProbeEngine,
    targets: HttpTargets,
    vim: HttpTarget,
    kubernetes: boolean,
    signal: AbortSignal,
    startedAt: number,
  ): Promise<ProbeOutcome> {
    const resolution = await beforeDeadline(this.guard.resolve(vim.host), signal);
    if (resolution === DEADLINE_PASSED) return { ok: false, reason: timedOutReason(startedAt) };
    return this.exchange(engine, targets, vim, resolution, kubernetes, signal, startedAt);
  }

  private exchange(
    engine: ProbeEngine,
    targets: HttpTargets,
    vim: HttpTarget,
    resolution: GuardedResolution,
    kubernetes: boolean,
    signal: AbortSignal,
    startedAt: number,
  ): Promise<ProbeOutcome> {
    if (signal.aborted) return Promise.resolve({ ok: false, reason: timedOutReason(startedAt) });
    if (!resolution.ok) return Promise.resolve({ ok: false, reason: `${unresolvedReason(resolution)} (${vim.shown})` });
    // Node.js would try the other addresses of a name in turn; the engine connects to the first (docs/probes.md).
    try {
      targets.connectTo(vim, (resolution.addresses[0] as ResolvedAddress).address);
    } catch (error) {
      // The engine refused the definition (a bug, not the VIM's fault): a reason, never a rejected check.
      const code = (error as { code?: unknown }).code;
      return Promise.resolve({ ok: false, reason: `${describeNetworkError({ code: typeof code === 'string' && code !== '' ? code : ENGINE_ERROR })} (${vim.shown})` });
    }
    return engine.http(vim.key, signal).then((reply) => judgeReply(vim, kubernetes, reply, startedAt));
  }

  forget(vimId: string): void {
    this.agents.forget(vimId);
    this.native?.targets.forget(vimId);
  }

  /** The engine's targets and TLS contexts (for tests); undefined on the Node.js path. */
  engineTargets(): { targets: number; tlsContexts: number } | undefined {
    return this.native?.targets.size();
  }

  async close(): Promise<void> {
    if (this.ownsAgents) await this.agents.close();
  }
}

/** The api probe's exchange with a VIM, as the engine defines it once per VIM. */
function exchangeOf(target: ProbeTarget): HttpTargetSpec {
  const kubernetes = target.type === 'kubernetes';
  return {
    url: kubernetes ? joinUrl(target.authUrl, '/readyz') : target.authUrl,
    accept: kubernetes ? 'text/plain' : 'application/json',
    verify: target.tls.verify,
    ca: target.tls.ca,
    maxBody: kubernetes ? READYZ_MAX_BODY : 0,
  };
}

/** The outcome of an engine exchange, in the Node.js path's words: the same reasons whichever engine ran. */
function judgeReply(vim: HttpTarget, kubernetes: boolean, reply: EngineReply, startedAt: number): ProbeOutcome {
  const status = reply.outcome;
  if (status === 0) {
    const error = reply.error;
    if (reply.deadline || error === 'ETIMEDOUT' || error === ABORTED) return { ok: false, reason: timedOutReason(startedAt) };
    if (error === CLOSED) return { ok: false, reason: `the probe engine is closed (${vim.shown})` };
    return { ok: false, reason: `${describeNetworkError({ code: error })} (${vim.shown})` };
  }
  const body = reply.body === undefined ? '' : unchunk(reply.body);
  const response: HttpResponse = { status, headers: {}, body, latencyMs: Math.round(reply.latencyUs / 100) / 10 };
  const verdict = kubernetes ? judgeReadyz(response, vim.shown) : judgeKeystone(response, vim.shown);
  return { ok: verdict.ok, reason: verdict.reason, latencyMs: response.latencyMs };
}

/** As httpExchange words a refused or failed lookup. */
function unresolvedReason(failure: { refused: boolean; reason: string; code?: string }): string {
  return failure.refused || failure.code === undefined || failure.code === 'error' ? failure.reason : describeNetworkError(failure);
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
