import { isIP } from 'node:net';
import type { Probe, ProbeName, ProbeOutcome, ProbeTarget } from '../probes/probe.js';
import { deadline } from '../time/deadline.js';

/** One of the worker's own dependencies, as configured in `guard.canaries` (an object, or a string of the same). */
export type CanaryConfig = string | { address?: string; port?: number; url?: string };

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** A canary in one shape: an address (with a port for tcp), or a URL. */
type CanarySpec = { address: string; port?: number } | { url: string };

/** Why a configured canary is unusable, or undefined when it is fine (config/load.ts turns it into a ConfigurationError). */
export function canaryProblem(config: CanaryConfig): string | undefined {
  try {
    specOf(config);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** `http(s)://…` is a URL; `[v6]:port` and `v4:port` an address with a port; anything else an address to ping. */
function specOf(config: CanaryConfig): CanarySpec {
  if (typeof config === 'string') {
    if (/^https?:\/\//.test(config)) return specOf({ url: config });
    const withPort = /^\[([^\]]+)\]:(\d+)$/.exec(config) ?? /^([^:]+):(\d+)$/.exec(config);
    if (withPort) return specOf({ address: withPort[1]!, port: Number(withPort[2]) });
    return specOf({ address: config.replace(/^\[(.*)\]$/, '$1') });
  }
  if ((config.address === undefined) === (config.url === undefined)) throw new Error('must name either an address or a url');
  if (config.url !== undefined) {
    if (config.port !== undefined) throw new Error('has a port and a url: the port goes with an address (a url has its own)');
    if (!/^https?:\/\//.test(config.url) || !URL.canParse(config.url)) throw new Error('url is not a valid http(s) URL');
    return { url: config.url };
  }
  if (isIP(config.address!) === 0 && !HOSTNAME.test(config.address!)) throw new Error('address must be an IP address or a host name (a URL goes in url, http or https)');
  if (config.port !== undefined && (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535)) throw new Error('port must be 1..65535');
  return config.port === undefined ? { address: config.address! } : { address: config.address!, port: config.port };
}

/** A canary with the probe driver that checks it and what it last saw. */
export interface Canary {
  readonly label: string;
  readonly probe: ProbeName;
  readonly target: ProbeTarget;
}

export interface CanaryView {
  canary: string;
  probe: ProbeName;
  ok: boolean | null;
  reason: string | null;
  consecutive_failures: number;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * Which driver checks a canary: an address is pinged (icmp), an address with
 * a port is connected to (tcp), a URL is fetched as the api probe fetches a
 * VIM's auth_url (any answer of a serving HTTP endpoint counts).
 */
export function canaryOf(configured: CanaryConfig, index: number): Canary {
  const config = specOf(configured);
  if ('url' in config) {
    const url = new URL(config.url);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port !== '' ? Number(url.port) : DEFAULT_PORTS[url.protocol];
    if (port === undefined) throw new Error(`guard.canaries[${index}].url: unsupported scheme ${url.protocol}`);
    return { label: url.origin, probe: 'api', target: targetOf(index, config.url, host, port) };
  }
  const label = config.port === undefined ? config.address : `${config.address.includes(':') ? `[${config.address}]` : config.address}:${config.port}`;
  return { label, probe: config.port === undefined ? 'icmp' : 'tcp', target: targetOf(index, `tcp://${label}`, config.address, config.port ?? 0) };
}

function targetOf(index: number, authUrl: string, host: string, port: number): ProbeTarget {
  // Not a VIM: an id of its own keeps the probes' per-VIM caches (connections, tokens) apart from every VIM's.
  return { vimId: `guard-canary-${index}`, type: 'openstack', authUrl, host, port, tls: { verify: true }, credentials: {}, project: { name: '' } };
}

/**
 * The canaries' latest results. The worker counts as cut off when every
 * canary has failed `failuresToTrip` checks in a row: one unreachable DNS
 * server among a router and a known-good VIM is not isolation.
 */
export class CanarySet {
  private readonly failures: number[];
  private readonly last: Array<ProbeOutcome | undefined>;

  constructor(
    readonly canaries: readonly Canary[],
    private readonly failuresToTrip: number,
  ) {
    this.failures = canaries.map(() => 0);
    this.last = canaries.map(() => undefined);
  }

  /** Checks every canary once, in parallel, each within `timeoutMs`. */
  async check(probes: ReadonlyMap<ProbeName, Probe>, timeoutMs: number): Promise<void> {
    // A deadline() signal says when it aborts: the native probe engine takes it as a number, with no listener.
    const limit = deadline(timeoutMs);
    await Promise.all(
      this.canaries.map(async (canary, i) => {
        const probe = probes.get(canary.probe);
        const outcome: ProbeOutcome = probe
          ? await probe.check(canary.target, limit.signal).catch((error: unknown) => ({ ok: false, reason: String(error) }))
          : { ok: false, reason: `probe ${canary.probe} is not available in this process` };
        this.record(i, outcome);
      }),
    ).finally(() => limit.dispose());
  }

  record(index: number, outcome: ProbeOutcome): void {
    this.last[index] = outcome;
    this.failures[index] = outcome.ok ? 0 : (this.failures[index] ?? 0) + 1;
  }

  /** `none` until every canary was checked once (and always without canaries). */
  state(): 'ok' | 'failing' | 'none' {
    if (this.canaries.length === 0 || this.last.some((outcome) => outcome === undefined)) return 'none';
    return this.failures.every((count) => count >= this.failuresToTrip) ? 'failing' : 'ok';
  }

  view(): CanaryView[] {
    return this.canaries.map((canary, i) => ({
      canary: canary.label,
      probe: canary.probe,
      ok: this.last[i]?.ok ?? null,
      reason: this.last[i]?.reason ?? null,
      consecutive_failures: this.failures[i] ?? 0,
    }));
  }

  forget(probes: ReadonlyMap<ProbeName, Probe>): void {
    for (const canary of this.canaries) probes.get(canary.probe)?.forget?.(canary.target.vimId);
  }
}
