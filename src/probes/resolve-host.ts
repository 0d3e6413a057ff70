import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address of both families; injectable so tests need no DNS server. */
export type HostLookup = (host: string) => Promise<ResolvedAddress[]>;

export const systemLookup: HostLookup = async (host) => {
  const found = await lookup(host, { all: true, family: 0 });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

export type Resolution = { ok: true; addresses: ResolvedAddress[] } | { ok: false; reason: string };

/**
 * Addresses of a probe target's host. An IP literal is used as it is (no
 * DNS); a host name goes through the system resolver (/etc/hosts, then DNS)
 * with both families, duplicates removed.
 */
export function resolveHost(host: string, lookupAll: HostLookup = systemLookup): Promise<Resolution> {
  const family = isIP(host);
  if (family !== 0) return Promise.resolve({ ok: true, addresses: [{ address: host, family: family === 6 ? 6 : 4 }] });
  return resolveHostName(host, lookupAll);
}

/** The resolver half of resolveHost, for a host the caller knows is no IP literal (it checked with isIP). */
export async function resolveHostName(host: string, lookupAll: HostLookup = systemLookup): Promise<Resolution> {
  try {
    const seen = new Set<string>();
    const addresses = (await lookupAll(host)).filter(({ address }) => !seen.has(address) && seen.add(address));
    if (addresses.length === 0) return { ok: false, reason: `DNS lookup of ${host} found no address` };
    return { ok: true, addresses };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { ok: false, reason: `DNS lookup of ${host} failed: ${typeof code === 'string' ? code : 'error'}` };
  }
}

/** host:port with IPv6 addresses bracketed, as in URLs. */
export function hostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
