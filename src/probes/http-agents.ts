import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { EgressGuard } from '../net/egress-guard.js';
import { probeTargetGuard } from './target-policy.js';

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

/** The connections of one purpose and TLS setting: plain HTTP and HTTPS. */
export interface ProbeAgent {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
  /** The probe target policy: httpExchange resolves and checks through it, and connects only to what it checked. */
  readonly guard: EgressGuard;
}

export interface AgentPoolOptions {
  /** The probe target policy (default: the built-in one, system resolver). */
  guard?: EgressGuard;
  /** TLS sessions kept for resumption, per agent (default 4,096: one per VIM of a large set-up, a few KB each). */
  maxCachedTlsSessions?: number;
}

interface Shared {
  agent: ProbeAgent;
  /** VIMs that use this agent: it is closed when the last one is forgotten. */
  users: Set<string>;
}

/**
 * Node.js HTTP agents shared by every VIM with the same purpose ('api',
 * 'kube-auth', 'oidc', …) and the same TLS settings (trust, client
 * certificate): sharing keeps memory flat with 10,000 VIMs instead of one
 * agent each. A VIM whose TLS settings change moves to another agent;
 * forget() lets go of a VIM, closing agents nobody uses any more.
 *
 * No keep-alive: a probe talks to each VIM once per round (10 s by default),
 * and servers close idle connections sooner than that (Apache after 5 s), so
 * a kept connection was never reused and only cost a timer, an idle socket
 * and an error object per VIM per round (measured with undici: 400 µs of CPU
 * per check against 185 µs without; docs/benchmark.md). TLS sessions are
 * cached instead, so a new connection to an HTTPS VIM resumes its session
 * rather than paying for a full handshake.
 */
export class AgentPool {
  private readonly shared = new Map<string, Shared>();
  /** vim id → purpose → the TLS settings it asked with and the key of the agent it uses */
  private readonly byVim = new Map<string, Map<string, { tls: AgentTls; fingerprint: string }>>();
  private readonly maxCachedTlsSessions: number;
  private readonly guard: EgressGuard;

  constructor(options: AgentPoolOptions = {}) {
    this.maxCachedTlsSessions = options.maxCachedTlsSessions ?? 4_096;
    this.guard = options.guard ?? probeTargetGuard();
  }

  agentFor(vimId: string, purpose: string, tls: AgentTls): ProbeAgent {
    let purposes = this.byVim.get(vimId);
    if (!purposes) {
      purposes = new Map();
      this.byVim.set(vimId, purposes);
    }
    const previous = purposes.get(purpose);
    // Every check asks again: the same settings as last time find their agent without hashing anything.
    if (previous !== undefined && sameTls(previous.tls, tls)) {
      const known = this.shared.get(previous.fingerprint);
      if (known) return known.agent;
    }
    // Hash, not the PEM itself: the key material must not sit around as a map key in plain sight.
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([purpose, tls.verify, tls.ca ?? '', tls.cert ?? '', tls.key ?? '', tls.addSystemRoots === true]))
      .digest('hex');
    if (previous !== undefined && previous.fingerprint !== fingerprint) this.release(vimId, previous.fingerprint);
    purposes.set(purpose, { tls: { ...tls }, fingerprint });
    let entry = this.shared.get(fingerprint);
    if (!entry) {
      entry = {
        agent: {
          http: new HttpAgent({ keepAlive: false }),
          https: new HttpsAgent({
            keepAlive: false,
            maxCachedSessions: this.maxCachedTlsSessions,
            rejectUnauthorized: tls.verify,
            ...(tls.ca !== undefined && { ca: tls.addSystemRoots ? [...rootCertificates, tls.ca] : tls.ca }),
            ...(tls.cert !== undefined && { cert: tls.cert }),
            ...(tls.key !== undefined && { key: tls.key }),
          }),
          guard: this.guard,
        },
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
    for (const { fingerprint } of purposes.values()) this.release(vimId, fingerprint);
  }

  /** Agents currently open (for tests). */
  size(): number {
    return this.shared.size;
  }

  async close(): Promise<void> {
    const all = [...this.shared.values()];
    this.shared.clear();
    this.byVim.clear();
    for (const { agent } of all) destroy(agent);
  }

  private release(vimId: string, fingerprint: string): void {
    const entry = this.shared.get(fingerprint);
    if (!entry) return;
    entry.users.delete(vimId);
    if (entry.users.size > 0) return;
    this.shared.delete(fingerprint);
    destroy(entry.agent);
  }
}

function sameTls(a: AgentTls, b: AgentTls): boolean {
  return a.verify === b.verify && a.ca === b.ca && a.cert === b.cert && a.key === b.key && (a.addSystemRoots === true) === (b.addSystemRoots === true);
}

/** Closes the agent's sockets: requests still in flight fail (their probe answers with the error). */
function destroy(agent: ProbeAgent): void {
  agent.http.destroy();
  agent.https.destroy();
}
