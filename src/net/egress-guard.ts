import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './address-policy.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address of both families; injectable so tests need no DNS server. */
export type HostLookup = (host: string) => Promise<ResolvedAddress[]>;

export const systemLookup: HostLookup = async (host) => {
  const found = await dnsLookup(host, { all: true, family: 0 });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

export type GuardedResolution =
  | { ok: true; addresses: ResolvedAddress[] }
  /** refused: the policy refuses at least one address; reason then never names an address. */
  | { ok: false; refused: boolean; reason: string; code?: string };

/** The code of the error a guarded connection fails with when the policy refuses its host. */
export const EGRESS_REFUSED = 'ERR_EGRESS_REFUSED';

export class EgressRefusedError extends Error {
  readonly code = EGRESS_REFUSED;
}

/**
 * Resolves once, checks every address, and hands the connection exactly the
 * addresses it checked. This closes DNS rebinding: a name that answers an
 * allowed address to a check and a forbidden one to a second lookup never
 * gets the second lookup. A host with any refused address is refused as a
 * whole, so a forbidden address cannot hide among allowed ones.
 */
export class EgressGuard {
  constructor(
    readonly policy: AddressPolicy,
    private readonly lookup: HostLookup = systemLookup,
    /** The text of a refusal: what a caller may see (never the address). */
    readonly refusedReason = 'refused by the outbound address policy',
  ) {}

  /** `host` is bare (no IPv6 brackets); an IP literal is judged without DNS. */
  async resolve(host: string): Promise<GuardedResolution> {
    const literal = this.checkLiteral(host);
    if (literal) return literal;
    let found: ResolvedAddress[];
    try {
      found = await this.lookup(host);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const shown = typeof code === 'string' ? code : 'error';
      return { ok: false, refused: false, reason: `DNS lookup of ${host} failed: ${shown}`, code: shown };
    }
    const seen = new Set<string>();
    const addresses = found.filter(({ address }) => !seen.has(address) && seen.add(address));
    if (addresses.length === 0) return { ok: false, refused: false, reason: `DNS lookup of ${host} found no address`, code: 'ENOTFOUND' };
    return this.judge(addresses);
  }

  /** The judgement of an IP literal, made without DNS; undefined for a host name. */
  checkLiteral(host: string): GuardedResolution | undefined {
    const version = isIP(host);
    return version === 0 ? undefined : this.judge([{ address: host, family: version === 6 ? 6 : 4 }]);
  }

  private judge(addresses: ResolvedAddress[]): GuardedResolution {
    if (addresses.some(({ address }) => this.policy.refuses(address))) return { ok: false, refused: true, reason: this.refusedReason };
    return { ok: true, addresses };
  }

  /**
   * A `lookup` for net/tls/http connections that resolves through this guard:
   * the socket connects only to addresses the guard checked in this very call.
   * (An IP literal host never reaches a lookup function: check it with resolve() first.)
   */
  readonly connectionLookup: LookupFunction = (hostname, options, callback) => {
    void this.resolve(hostname).then((resolution) => {
      if (!resolution.ok) {
        const error = resolution.refused ? new EgressRefusedError(resolution.reason) : Object.assign(new Error(resolution.reason), { code: resolution.code });
        callback(error as NodeJS.ErrnoException, '', 4);
        return;
      }
      answer(resolution.addresses, options, callback);
    });
  };
}

/** A `lookup` that answers exactly these (already checked) addresses: the connection is pinned to them. */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => answer(addresses, options, callback);
}

function answer(addresses: readonly ResolvedAddress[], options: Parameters<LookupFunction>[1], callback: Parameters<LookupFunction>[2]): void {
  const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
  const wanted = family === 0 ? addresses : addresses.filter((a) => a.family === family);
  if (options.all) {
    process.nextTick(callback, null, wanted.map((a) => ({ ...a })));
    return;
  }
  const first = wanted[0];
  if (first === undefined) {
    process.nextTick(callback, Object.assign(new Error(`no IPv${family} address`), { code: 'ENOTFOUND' }), '', 4);
    return;
  }
  process.nextTick(callback, null, first.address, first.family);
}
