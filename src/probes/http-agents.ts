import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';

/** TLS settings of one kind of connection to one VIM. */
export interface AgentTls {
  verify: boolean;
  /** PEM, one or more certificates: the only roots trusted, unless addSystemRoots. */
  ca?: string;
  /** Client certificate and key (Kubernetes client-certificate authentication). */
  cert?: string;
  key?: string;
  /** Trust the system's roots as well as `ca` (an OIDC provider is often a public site). */
  addSystemRoots?: boolean;
}

export interface AgentPoolOptions {
  /** How long an idle connection is kept for the next check (default 60 s; a server may close it sooner). */
  keepAliveTimeoutMs?: number;
}

interface Entry {
  fingerprint: string;
  agent: Agent;
}

/**
 * One undici Agent per VIM and purpose ('api', 'kube-auth', 'oidc', …), so
 * that each VIM gets its own TLS trust and client certificate and keeps its
 * connections alive between checks. A VIM whose TLS settings change gets a
 * new agent (the old one is closed); forget() drops all of a VIM's agents.
 */
export class AgentPool {
  private readonly agents = new Map<string, Map<string, Entry>>();
  private readonly keepAliveTimeoutMs: number;

  constructor(options: AgentPoolOptions = {}) {
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 60_000;
  }

  agentFor(vimId: string, purpose: string, tls: AgentTls): Dispatcher {
    // Hash, not the PEM itself: the key material must not sit around as a map key in plain sight.
    const fingerprint = createHash('sha256').update(JSON.stringify([tls.verify, tls.ca ?? '', tls.cert ?? '', tls.key ?? '', tls.addSystemRoots === true])).digest('hex');
    let byPurpose = this.agents.get(vimId);
    if (!byPurpose) {
      byPurpose = new Map();
      this.agents.set(vimId, byPurpose);
    }
    const existing = byPurpose.get(purpose);
    if (existing?.fingerprint === fingerprint) return existing.agent;
    if (existing) void existing.agent.destroy().catch(() => undefined);
    const agent = new Agent({
      connect: {
        rejectUnauthorized: tls.verify,
        ...(tls.ca !== undefined && { ca: tls.addSystemRoots ? [...rootCertificates, tls.ca] : tls.ca }),
        ...(tls.cert !== undefined && { cert: tls.cert }),
        ...(tls.key !== undefined && { key: tls.key }),
      },
      keepAliveTimeout: this.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(this.keepAliveTimeoutMs, 600_000),
      // A purpose's checks of one VIM run one after the other: one connection, reused. (With
      // more, undici opens a second one when a check follows the previous one within a tick.)
      connections: 1,
    });
    byPurpose.set(purpose, { fingerprint, agent });
    return agent;
  }

  /** Closes every connection of a VIM that is no longer monitored. */
  forget(vimId: string): void {
    const byPurpose = this.agents.get(vimId);
    if (!byPurpose) return;
    this.agents.delete(vimId);
    for (const { agent } of byPurpose.values()) void agent.destroy().catch(() => undefined);
  }

  /** Agents currently held (for tests). */
  size(): number {
    let n = 0;
    for (const byPurpose of this.agents.values()) n += byPurpose.size;
    return n;
  }

  async close(): Promise<void> {
    const all = [...this.agents.values()].flatMap((byPurpose) => [...byPurpose.values()]);
    this.agents.clear();
    await Promise.all(all.map(({ agent }) => agent.destroy().catch(() => undefined)));
  }
}
