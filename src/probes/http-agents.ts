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
  /**
   * How long an idle connection is kept for the next check (default 4 s:
   * shorter than a round interval, so 10,000 VIMs do not hold 10,000 idle
   * sockets between rounds; raise it for TLS-heavy set-ups with few VIMs).
   */
  keepAliveTimeoutMs?: number;
}

interface Shared {
  agent: Agent;
  /** VIMs that use this agent: it is closed when the last one is forgotten. */
  users: Set<string>;
}

/**
 * undici Agents shared by every VIM with the same purpose ('api',
 * 'kube-auth', 'oidc', …) and the same TLS settings (trust, client
 * certificate). An Agent pools connections per origin, so VIMs stay apart;
 * sharing keeps memory flat with 10,000 VIMs instead of one Agent each. A VIM
 * whose TLS settings change moves to another agent; forget() lets go of a
 * VIM, closing agents nobody uses any more.
 */
export class AgentPool {
  private readonly shared = new Map<string, Shared>();
  /** vim id → purpose → key of the agent it uses */
  private readonly byVim = new Map<string, Map<string, string>>();
  private readonly keepAliveTimeoutMs: number;

  constructor(options: AgentPoolOptions = {}) {
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 4_000;
  }

  agentFor(vimId: string, purpose: string, tls: AgentTls): Dispatcher {
    // Hash, not the PEM itself: the key material must not sit around as a map key in plain sight.
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([purpose, tls.verify, tls.ca ?? '', tls.cert ?? '', tls.key ?? '', tls.addSystemRoots === true]))
      .digest('hex');
    let purposes = this.byVim.get(vimId);
    if (!purposes) {
      purposes = new Map();
      this.byVim.set(vimId, purposes);
    }
    const previous = purposes.get(purpose);
    if (previous !== undefined && previous !== fingerprint) this.release(vimId, previous);
    purposes.set(purpose, fingerprint);
    let entry = this.shared.get(fingerprint);
    if (!entry) {
      entry = {
        agent: new Agent({
          connect: {
            // Below any sensible round interval, so that a connect that hangs never holds the origin's only connection into the next round.
            timeout: 5_000,
            rejectUnauthorized: tls.verify,
            ...(tls.ca !== undefined && { ca: tls.addSystemRoots ? [...rootCertificates, tls.ca] : tls.ca }),
            ...(tls.cert !== undefined && { cert: tls.cert }),
            ...(tls.key !== undefined && { key: tls.key }),
          },
          keepAliveTimeout: this.keepAliveTimeoutMs,
          keepAliveMaxTimeout: Math.max(this.keepAliveTimeoutMs, 600_000),
          // Checks of one VIM (one origin) run one after the other: one connection per origin, reused.
          connections: 1,
        }),
        users: new Set(),
      };
      this.shared.set(fingerprint, entry);
    }
    entry.users.add(vimId);
    return entry.agent;
  }

  /** Lets go of a VIM that is no longer monitored (or whose settings changed). */
  forget(vimId: string): void {
    const purposes = this.byVim.get(vimId);
    if (!purposes) return;
    this.byVim.delete(vimId);
    for (const fingerprint of purposes.values()) this.release(vimId, fingerprint);
  }

  /** Agents currently open (for tests). */
  size(): number {
    return this.shared.size;
  }

  async close(): Promise<void> {
    const all = [...this.shared.values()];
    this.shared.clear();
    this.byVim.clear();
    await Promise.all(all.map(({ agent }) => agent.destroy().catch(() => undefined)));
  }

  private release(vimId: string, fingerprint: string): void {
    const entry = this.shared.get(fingerprint);
    if (!entry) return;
    entry.users.delete(vimId);
    if (entry.users.size > 0) return;
    this.shared.delete(fingerprint);
    void entry.agent.destroy().catch(() => undefined);
  }
}
