import { isIP } from 'node:net';

export { systemLookup, type HostLookup, type ResolvedAddress } from '../net/egress-guard.js';

/** host:port with IPv6 addresses bracketed, as in URLs. */
export function hostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
