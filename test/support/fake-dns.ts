import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';

/** Answers for one name, by how many times it was asked already (0-based); undefined: the name does not exist. */
export type FakeAnswers = (name: string, call: number) => string[] | undefined;

export interface FakeDns {
  calls(name: string): number;
  restore(): void;
}

/**
 * A stand-in for the system resolver, installed on node:dns itself (both the
 * callback `lookup` that net/http/undici call and `dns/promises` lookup), so
 * that code which resolves twice (a check, then a connection) is caught as
 * it would be by a rebinding DNS server; no such server can run here. Only
 * names under `.test` (RFC 6761: never in real DNS) are answered; a `.test`
 * name never reaches the real resolver. Other names go to the real one.
 */
export function installFakeDns(answers: FakeAnswers): FakeDns {
  const counts = new Map<string, number>();
  const original = { lookup: dns.lookup, promisesLookup: dns.promises.lookup };
  const resolve = (name: string): LookupAddress[] => {
    const call = counts.get(name) ?? 0;
    counts.set(name, call + 1);
    const found = answers(name, call) ?? [];
    if (found.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND', hostname: name });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const fakeLookup = function (name: string, options: unknown, callback?: unknown): void {
    const cb = (typeof options === 'function' ? options : callback) as (error: Error | null, address?: unknown, family?: number) => void;
    const opts = (typeof options === 'object' && options !== null ? options : {}) as LookupOptions;
    if (!name.endsWith('.test')) {
      (original.lookup as (n: string, o: unknown, c: unknown) => void)(name, options, callback);
      return;
    }
    let found: LookupAddress[];
    try {
      found = resolve(name);
    } catch (error) {
      process.nextTick(cb, error);
      return;
    }
    if (opts.all) process.nextTick(cb, null, found);
    else process.nextTick(cb, null, found[0]?.address, found[0]?.family);
  };
  const fakePromisesLookup = async (name: string, options?: LookupOptions): Promise<unknown> => {
    if (!name.endsWith('.test')) return (original.promisesLookup as (n: string, o?: LookupOptions) => Promise<unknown>)(name, options);
    const found = resolve(name);
    return options?.all ? found : found[0];
  };
  (dns as { lookup: unknown }).lookup = fakeLookup;
  (dns.promises as { lookup: unknown }).lookup = fakePromisesLookup;
  syncBuiltinESMExports();
  return {
    calls: (name) => counts.get(name) ?? 0,
    restore: () => {
      (dns as { lookup: unknown }).lookup = original.lookup;
      (dns.promises as { lookup: unknown }).lookup = original.promisesLookup;
      syncBuiltinESMExports();
    },
  };
}
