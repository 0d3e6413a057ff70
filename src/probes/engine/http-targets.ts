import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { EgressGuard, GuardedResolution } from '../../net/egress-guard.js';
import { shownUrl } from '../http-exchange.js';
import type { ProbeTarget } from '../probe.js';
import type { ProbeEngine } from './probe-engine.js';

/** What one VIM's exchange is: built into request bytes once, not per check. */
export interface HttpTargetSpec {
  url: string;
  accept: string;
  verify: boolean;
  ca: string | undefined;
  /** Bytes of body the verdict needs (Kubernetes /readyz); 0: none. */
  maxBody: number;
}

/** One VIM's HTTP target in the engine. */
export interface HttpTarget {
  readonly key: number;
  /** What it was built from: a check whose target still says the same uses it as is. */
  readonly from: Pick<ProbeTarget, 'type' | 'authUrl'> & { verify: boolean; ca: string | undefined };
  readonly spec: HttpTargetSpec;
  /** The URL as reasons show it (no query string). */
  readonly shown: string;
  /** The host without IPv6 brackets: a name, or an IP literal. */
  readonly host: string;
  /** The guard's judgement of an IP literal host, made once (the policy does not change while the process runs); undefined for a name. */
  readonly literal: GuardedResolution | undefined;
  readonly port: number;
  readonly request: Buffer;
  /** 0 for plain HTTP. */
  readonly tlsContext: number;
  /** The address the engine's definition connects to; undefined until the first check (or after a definition the engine refused). */
  address: string | undefined;
  /** The engine holds a definition under `key` (to drop on forget). */
  defined: boolean;
}

interface SharedContext {
  id: number;
  users: number;
}

/**
 * The HTTP targets of the engine, one per VIM, and the TLS contexts they
 * share: one per distinct (verify, CA), as http-agents.ts shares Node.js
 * agents, so 10,000 VIMs signed by one CA load its PEM once. A target is
 * defined again when its URL, TLS settings or resolved address change, and
 * dropped (with its context, when it was the last user) on forget().
 */
export class HttpTargets {
  private readonly byVim = new Map<string, HttpTarget>();
  private readonly contexts = new Map<string, SharedContext>();
  private readonly freeKeys: number[] = [];
  private nextKey = 1;
  private systemRoots: string | undefined;

  constructor(
    private readonly engine: ProbeEngine,
    private readonly guard: EgressGuard,
    /** What a VIM's exchange is (the probe's business); asked only when the VIM's URL, type or TLS settings change. */
    private readonly specOf: (target: ProbeTarget) => HttpTargetSpec,
  ) {}

  /**
   * The VIM's target: the one it had when nothing changed (compared field by
   * field, nothing built per check), else a new definition. A string says
   * why there can be none (not an http(s) URL).
   */
  targetFor(target: ProbeTarget): HttpTarget | string {
    const known = this.byVim.get(target.vimId);
    if (known !== undefined) {
      const from = known.from;
      if (from.authUrl === target.authUrl && from.type === target.type && from.verify === target.tls.verify && from.ca === target.tls.ca) return known;
      this.forget(target.vimId);
    }
    const spec = this.specOf(target);
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      return 'not a valid URL';
    }
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') return `unsupported URL scheme ${url.protocol}`;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    const made: HttpTarget = {
      key: this.freeKeys.pop() ?? this.nextKey++,
      from: { type: target.type, authUrl: target.authUrl, verify: target.tls.verify, ca: target.tls.ca },
      spec,
      shown: shownUrl(spec.url),
      host,
      literal: this.guard.checkLiteral(host),
      port,
      request: requestBytes(url, host, spec.accept),
      tlsContext: secure ? this.acquireContext(spec.verify, spec.ca) : 0,
      address: undefined,
      defined: false,
    };
    this.byVim.set(target.vimId, made);
    return made;
  }

  /**
   * Points the target at `address` (checked by the guard), defining it in
   * the engine when that is new. Throws what the engine throws for a
   * definition it refuses (the target stays undefined then).
   */
  connectTo(target: HttpTarget, address: string): void {
    if (target.address === address) return;
    target.address = undefined;
    this.engine.defineHttpTarget(target.key, {
      address,
      port: target.port,
      request: target.request,
      tlsContext: target.tlsContext,
      serverName: target.host,
      maxBody: target.spec.maxBody,
    });
    target.address = address;
    target.defined = true;
  }

  forget(vimId: string): void {
    const target = this.byVim.get(vimId);
    if (target === undefined) return;
    this.byVim.delete(vimId);
    if (target.defined) this.engine.dropHttpTarget(target.key);
    this.freeKeys.push(target.key);
    if (target.tlsContext !== 0) this.releaseContext(target.spec.verify, target.spec.ca);
  }

  /** Targets and TLS contexts defined now (for tests). */
  size(): { targets: number; tlsContexts: number } {
    return { targets: this.byVim.size, tlsContexts: this.contexts.size };
  }

  private acquireContext(verify: boolean, ca: string | undefined): number {
    const key = contextKey(verify, ca);
    let shared = this.contexts.get(key);
    if (shared === undefined) {
      // Without ssl_ca_cert the roots are Node.js's own, as for node:https.
      const caPem = ca ?? (this.systemRoots ??= rootCertificates.join('\n'));
      shared = { id: this.engine.tlsContext({ verify, caPem }), users: 0 };
      this.contexts.set(key, shared);
    }
    shared.users += 1;
    return shared.id;
  }

  private releaseContext(verify: boolean, ca: string | undefined): void {
    const key = contextKey(verify, ca);
    const shared = this.contexts.get(key);
    if (shared === undefined || (shared.users -= 1) > 0) return;
    this.contexts.delete(key);
    this.engine.dropTlsContext(shared.id);
  }
}

function contextKey(verify: boolean, ca: string | undefined): string {
  return `${verify ? 'verify' : 'no-verify'}\n${ca ?? ''}`;
}

/**
 * The GET as node:http sends it for the same URL (Host with the port unless
 * it is the scheme's default, IPv6 bracketed), plus a User-Agent and
 * Connection: close: one exchange per connection, as the agents do.
 */
function requestBytes(url: URL, host: string, accept: string): Buffer {
  const hostHeader = `${isIP(host) === 6 ? `[${host}]` : host}${url.port === '' ? '' : `:${url.port}`}`;
  return Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${hostHeader}\r\nAccept: ${accept}\r\nUser-Agent: vim-monitor\r\nConnection: close\r\n\r\n`, 'latin1');
}
