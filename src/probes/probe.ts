import type { AuthCred, VimProject, VimType } from '../vims/model.js';

/**
 * Probes are drivers behind one interface, one module each (see
 * docs/probes.md for what each one checks on each VIM type). A probe knows
 * nothing of the database, of monitors or of HTTP routes: it gets a target and
 * a deadline and says what it saw.
 */
export const PROBE_NAMES = ['icmp', 'tcp', 'api', 'auth'] as const;
export type ProbeName = (typeof PROBE_NAMES)[number];

/** What a probe needs to know about one VIM; built from the VIM record by probes/target.ts. */
export interface ProbeTarget {
  vimId: string;
  type: VimType;
  /** The normalised auth_url (OpenStack: ends in /v3). */
  authUrl: string;
  /** Host from a real URL parser: a hostname, an IPv4 address, or an IPv6 address without brackets. */
  host: string;
  /** Explicit port, or the scheme's default (80/443). */
  port: number;
  /** TLS settings from auth_cred: verify unless cert_verify is 'False'; ca is ssl_ca_cert (PEM, may hold several). */
  tls: { verify: boolean; ca?: string };
  /** Decrypted credentials. Never log, never put in a reason. */
  credentials: AuthCred;
  project: VimProject;
}

export interface ProbeOutcome {
  ok: boolean;
  /** Round-trip time of the decisive exchange, when one happened. */
  latencyMs?: number;
  /** Short human text: 'HTTP 300 from Keystone', 'connection refused', '100% packet loss'. Never a secret. */
  reason: string;
  /** Discovered placement (OpenStack regions, Kubernetes namespaces), from the auth probe. */
  regions?: string[];
}

export interface Probe {
  readonly name: ProbeName;
  /**
   * Must settle by the time `signal` aborts (the monitor's per-probe deadline):
   * resolve with ok=false and a timeout reason, never reject for a target's fault.
   */
  check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome>;
  /** Releases shared resources (connection pools, cached tokens) of a VIM that is no longer monitored. */
  forget?(vimId: string): void;
  close?(): Promise<void>;
}
