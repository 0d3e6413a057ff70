import type { Clock } from '../time/clock.js';
import { AgentPool } from './http-agents.js';
import { KeystoneAuthenticator } from './keystone-auth.js';
import { KubernetesAuthenticator } from './kubernetes-auth.js';
import type { OidcTokenSource } from './oidc-token.js';
import type { Probe, ProbeOutcome, ProbeTarget } from './probe.js';

export interface AuthProbeOptions {
  /** Connection pools per VIM; pass one to share it with other probes. */
  agents?: AgentPool;
  /** For token expiry (tests move it forward). */
  clock?: Clock;
  /** Renew a cached Keystone token this long before it expires (default 5 min). */
  keystoneRenewMarginMs?: number;
}

/**
 * Are the VIM's credentials good? OpenStack: a project-scoped Keystone
 * token (keystone-auth.ts); Kubernetes: an authenticated GET /api
 * (kubernetes-auth.ts). Discovers placement: OpenStack regions, Kubernetes
 * namespaces. No credential ever appears in a reason.
 */
export class AuthProbe implements Probe {
  readonly name = 'auth' as const;
  private readonly agents: AgentPool;
  private readonly ownsAgents: boolean;
  /** Shared with the deep checks: the token this probe caches is the one they use, never a second login per deep run. */
  readonly keystone: KeystoneAuthenticator;
  private readonly kubernetes: KubernetesAuthenticator;

  constructor(options: AuthProbeOptions = {}) {
    this.agents = options.agents ?? new AgentPool();
    this.ownsAgents = options.agents === undefined;
    this.keystone = new KeystoneAuthenticator({ agents: this.agents, clock: options.clock, renewMarginMs: options.keystoneRenewMarginMs });
    this.kubernetes = new KubernetesAuthenticator({ agents: this.agents, clock: options.clock });
  }

  /** The Kubernetes OIDC id_token cache, shared with the deep checks like `keystone`. */
  get oidc(): OidcTokenSource {
    return this.kubernetes.oidc;
  }

  check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    return target.type === 'kubernetes' ? this.kubernetes.check(target, signal) : this.keystone.check(target, signal);
  }

  forget(vimId: string): void {
    this.keystone.forget(vimId);
    this.kubernetes.forget(vimId);
    this.agents.forget(vimId);
  }

  async close(): Promise<void> {
    if (this.ownsAgents) await this.agents.close();
  }
}
