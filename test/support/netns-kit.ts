/**
 * The network-namespace plumbing shared by the tests' namespaces
 * (isolated-netns.ts, vantage-net.ts, net-targets.ts) and the benchmark's
 * (bench/netns.ts, which is why tsconfig.bench.json includes this file): the
 * `ip` command, namespaces named `<prefix><pid>` and swept once their process
 * is gone, a veth pair into a new namespace, and IPv4 address arithmetic.
 *
 * Which addresses to use and how to check them before use stays with each
 * caller: this module creates nothing on its own.
 */
import { execFileSync } from 'node:child_process';

/** Runs `ip ARGS` (with `input` on stdin, for `ip -batch -`) and returns its output; throws with its stderr on failure. */
export function ip(args: string[], input?: string): string {
  return execFileSync('ip', args, {
    encoding: 'utf8',
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    // `ip -batch -` answers one line per address: thousands of them for the benchmark.
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** For removals: what is to be removed may already be gone. */
export function tryIp(args: string[]): void {
  try {
    ip(args);
  } catch {
    // already gone
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface OwnedNamespace {
  readonly name: string;
  /** The process that made it, from its name. */
  readonly pid: number;
  /** Its process is this one or still running. */
  readonly live: boolean;
}

/** The namespaces named `<prefix><pid>`. */
export function namespacesOf(prefix: string): OwnedNamespace[] {
  const found: OwnedNamespace[] = [];
  for (const line of ip(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid)) continue;
    found.push({ name, pid, live: pid === process.pid || processAlive(pid) });
  }
  return found;
}

/**
 * Deletes the host's side of the pair first (it takes its routes with it at
 * once; the namespace goes asynchronously), then the namespace.
 */
export function removeNamespace(namespace: string, hostSide?: string): void {
  if (hostSide !== undefined) tryIp(['link', 'del', hostSide]);
  tryIp(['netns', 'del', namespace]);
}

/** Removes the namespaces `<prefix><pid>` (and host links `hostSideOf(pid)`) left by processes that were killed before their close(). */
export function sweepStale(prefix: string, hostSideOf?: (pid: number) => string): string[] {
  const removed: string[] = [];
  for (const { name, pid, live } of namespacesOf(prefix)) {
    if (live) continue;
    removeNamespace(name, hostSideOf?.(pid));
    removed.push(name);
  }
  return removed;
}

export interface VethNamespace {
  readonly namespace: string;
  /** The pair's end on the host. */
  readonly hostSide: string;
  /** The pair's end inside the namespace. */
  readonly farSide: string;
  /** Addresses with prefix length for the host's end; IPv6 ones without duplicate address detection (nobody else is on the link). */
  readonly hostAddresses: readonly string[];
  /** An address with prefix length for the namespace's end; none leaves it without an address. */
  readonly farAddress?: string;
  /** Brings the namespace's loopback up, for a process that listens inside. */
  readonly loopback: boolean;
}

/** Creates the namespace and a veth pair into it, both ends up. Throws at the first `ip` that fails; the caller removes what was made. */
export function addVethNamespace(net: VethNamespace): void {
  const { namespace, hostSide, farSide } = net;
  ip(['netns', 'add', namespace]);
  ip(['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', farSide, 'netns', namespace]);
  for (const address of net.hostAddresses) {
    ip(address.includes(':') ? ['-6', 'addr', 'add', address, 'dev', hostSide, 'nodad'] : ['addr', 'add', address, 'dev', hostSide]);
  }
  ip(['link', 'set', hostSide, 'up']);
  if (net.loopback) ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
  if (net.farAddress !== undefined) ip(['-n', namespace, 'addr', 'add', net.farAddress, 'dev', farSide]);
  ip(['-n', namespace, 'link', 'set', farSide, 'up']);
}

/**
 * Runs `setUp`; if it throws, calls `undo` and throws `<failure>: <what ip
 * said>` (its stderr, or the error itself for a failed check).
 */
export function setUpOrUndo(failure: string, undo: () => void, setUp: () => void): void {
  try {
    setUp();
  } catch (error) {
    undo();
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new Error(`${failure}: ${typeof stderr === 'string' && stderr ? stderr.trim() : String(error)}`);
  }
}

/** Calls `close` when the process exits, unless the returned function closed it first. */
export function closeAtExit(close: () => void): () => void {
  process.once('exit', close);
  return () => {
    process.removeListener('exit', close);
    close();
  };
}

export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

export function dotted(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * The /29 of 198.19.128.0/17 (RFC 2544's benchmarking range, under the
 * blackhole for 198.18.0.0/15) that a worker namespace of this process uses:
 * away from the benchmark's 198.18.64.0/20 and mostly from net-targets.ts's
 * silent hosts. Both isolated-netns.ts and vantage-net.ts take it, so one
 * process can hold only one of them: each checks the addresses are free first.
 */
export function workerSubnetBase(pid = process.pid): number {
  return ipv4ToNumber('198.19.128.0') + (pid % 4096) * 8;
}
