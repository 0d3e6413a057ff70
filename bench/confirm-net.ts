/**
 * The confirmation phase's network: a second vantage point on this machine,
 * as test/support/vantage-net.ts makes for the e2e test, but with room for
 * many target addresses.
 *
 *   host:      198.18.L.1/24 on vbc<pid>, and the targets 198.18.L.10 … as
 *              /32s on the same link (local addresses of the host)
 *   namespace: 198.18.L.2/24 on vbd<pid>, lo up; no default route
 *
 * L is the first of a few candidate /24s that nothing on this host routes
 * yet (free addresses fall under the blackhole route for 198.18.0.0/15,
 * which stays). One worker runs in the namespace; it reaches the targets
 * over the link, and PostgreSQL through a relay on 198.18.L.1. `cut()` adds
 * `unreachable` routes inside the namespace only: those targets are down
 * from that worker and up for every other process. Nothing leaves the
 * machine: every address is checked with `ip route get` on both sides.
 */
import { execFileSync } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { processAlive } from '../test/support/netns-kit.js';

const PREFIX = 'vimbenchc-';
/** /24s of 198.18.0.0/15 away from bench/netns.ts (198.18.64.0/20, 198.18.80.0/30) and the tests' 198.19.128.0/17. */
const CANDIDATE_THIRD_OCTETS = [112, 113, 114, 115, 116, 117, 118, 119];
const FIRST_TARGET = 10;
export const MAX_TARGET_ADDRESSES = 240;

function ip(args: string[], input?: string): string {
  return execFileSync('ip', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
}

function tryIp(args: string[]): void {
  try {
    ip(args);
  } catch {
    // already gone
  }
}

function routed(address: string): string | undefined {
  try {
    return ip(['route', 'get', address]).trim();
  } catch {
    return undefined; // the blackhole for 198.18.0.0/15: nobody's
  }
}


function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Removes namespaces of confirmation runs whose benchmark is gone, and our workers left in them. */
function sweepStale(): void {
  for (const line of ip(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const pid = Number(name.slice(PREFIX.length));
    if (!name.startsWith(PREFIX) || !Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    for (const inside of ip(['netns', 'pids', name]).split('\n').map(Number).filter((n) => n > 0)) {
      if (commandLine(inside).includes('dist/cli/main.js')) {
        try {
          process.kill(inside, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    tryIp(['link', 'del', `vbc${pid}`]);
    tryIp(['netns', 'del', name]);
  }
}

export interface ConfirmNet {
  readonly namespace: string;
  readonly range: string;
  /** The host side of the link: the relay to PostgreSQL listens here. */
  readonly hostAddress: string;
  /** Host addresses the VIMs point at, each reachable from the namespace until cut. */
  readonly targets: string[];
  cut(addresses: string[]): void;
  restore(addresses: string[]): void;
  /** `ip route get` of an address, on the host or inside the namespace (for the record). */
  route(address: string, inside: boolean): string;
  close(): void;
}

export function startConfirmNet(targetCount: number): ConfirmNet {
  if (process.getuid?.() !== 0) throw new Error('the confirmation phase needs root (a network namespace and a veth pair)');
  if (targetCount < 1 || targetCount > MAX_TARGET_ADDRESSES) throw new Error(`1 to ${MAX_TARGET_ADDRESSES} target addresses, not ${targetCount}`);
  sweepStale();
  const third = CANDIDATE_THIRD_OCTETS.find((o) => ip(['route', 'show', 'root', `198.18.${o}.0/24`]).trim() === '' && [1, 2, FIRST_TARGET].every((h) => routed(`198.18.${o}.${h}`) === undefined));
  if (third === undefined) throw new Error(`none of 198.18.{${CANDIDATE_THIRD_OCTETS.join(',')}}.0/24 is free on this host: is another benchmark running?`);
  const range = `198.18.${third}.0/24`;
  const hostAddress = `198.18.${third}.1`;
  const farAddress = `198.18.${third}.2`;
  const targets = Array.from({ length: targetCount }, (_, i) => `198.18.${third}.${FIRST_TARGET + i}`);
  const namespace = `${PREFIX}${process.pid}`;
  const hostSide = `vbc${process.pid}`;
  const farSide = `vbd${process.pid}`;
  const close = () => {
    tryIp(['link', 'del', hostSide]);
    tryIp(['netns', 'del', namespace]);
  };
  try {
    ip(['netns', 'add', namespace]);
    ip(['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', farSide, 'netns', namespace]);
    ip(['addr', 'add', `${hostAddress}/24`, 'dev', hostSide]);
    ip(['-batch', '-'], targets.map((t) => `addr add ${t}/32 dev ${hostSide}\n`).join(''));
    ip(['link', 'set', hostSide, 'up']);
    ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
    ip(['-n', namespace, 'addr', 'add', `${farAddress}/24`, 'dev', farSide]);
    ip(['-n', namespace, 'link', 'set', farSide, 'up']);
    // Never a packet off this machine: the targets are local here, and on our link inside.
    const hostRoutes = ip(['-batch', '-'], [hostAddress, ...targets].map((a) => `route get ${a}\n`).join(''));
    const insideRoutes = ip(['-n', namespace, '-batch', '-'], [hostAddress, ...targets].map((a) => `route get ${a}\n`).join(''));
    for (const address of [hostAddress, ...targets]) {
      const host = hostRoutes.split('\n').find((l) => l.startsWith(`local ${address} `));
      if (!host?.includes('dev lo')) throw new Error(`${address} is not local on the host: ${host ?? 'no route'}`);
      const inside = insideRoutes.split('\n').find((l) => l.startsWith(`${address} `));
      if (!inside?.includes(`dev ${farSide} `)) throw new Error(`${address} does not route into ${farSide} inside ${namespace}: ${inside ?? 'no route'}`);
    }
    if (routed('198.18.0.1') !== undefined) throw new Error('the blackhole route for 198.18.0.0/15 is missing: refusing to run');
  } catch (error) {
    close();
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new Error(`could not set up ${namespace}: ${typeof stderr === 'string' && stderr ? stderr.trim() : String(error)}`);
  }
  const batch = (verb: 'replace' | 'del', addresses: string[]) => {
    if (addresses.length > 0) ip(['-n', namespace, '-batch', '-'], addresses.map((a) => `route ${verb} unreachable ${a}/32\n`).join(''));
  };
  return {
    namespace,
    range,
    hostAddress,
    targets,
    cut: (addresses) => batch('replace', addresses),
    restore: (addresses) => {
      try {
        batch('del', addresses);
      } catch {
        // some were not cut: one at a time
        for (const a of addresses) tryIp(['-n', namespace, 'route', 'del', 'unreachable', `${a}/32`]);
      }
    },
    route(address, inside) {
      try {
        return ip([...(inside ? ['-n', namespace] : []), 'route', 'get', address]).trim().split('\n')[0]!;
      } catch (error) {
        const stderr = (error as { stderr?: unknown }).stderr;
        return `refused: ${typeof stderr === 'string' ? stderr.trim() : String(error)}`;
      }
    },
    close,
  };
}

/** A TCP relay on `listenAddress` (port chosen by the system) to `host:port`: the namespaced worker's way to PostgreSQL. */
export class TcpRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly host: string, private readonly targetPort: number, private readonly listenAddress: string) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.once('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.listenAddress, () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.server = server;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server?.close();
  }
}
