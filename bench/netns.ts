/**
 * Simulated VIMs that can go down and come back: a network namespace of our
 * own, joined to this host by a veth pair, where a whole range of addresses
 * is local (AnyIP), so every address in it answers ICMP echo and reaches the
 * HTTP server listening on 0.0.0.0 inside.
 *
 *   host:      198.18.80.1/30 on vbh<pid>,  198.18.64.0/20 via 198.18.80.2 dev vbh<pid>
 *              (and a blackhole for the range, metric 4000, under it: if our link
 *              vanished first, a packet for the range would be dropped, never sent
 *              on the default route)
 *   namespace: 198.18.80.2/30 on vbn<pid>,  local 198.18.64.0/20 dev lo  (AnyIP)
 *
 * down() deletes the namespace's local route: the host's route stays, so echo
 * requests and SYNs still go into our veth, and the namespace, which does not
 * forward, drops them: hosts that stopped answering. up() adds it back.
 * 198.18.0.0/15 is RFC 2544's benchmarking range. Every address handed out is
 * checked with `ip route get` to route into our own veth before it is used.
 *
 * Needs root and iproute2. Namespaces left behind by a benchmark that was
 * killed (`vimbench-<pid>` whose pid is gone) are removed when the next starts.
 */
import { readFileSync } from 'node:fs';
import { addVethNamespace, ip, ipv4ToNumber, dotted as numberToIpv4, namespacesOf, removeNamespace, setUpOrUndo, tryIp } from '../test/support/netns-kit.js';

export { ipv4ToNumber, numberToIpv4 };

const PREFIX = 'vimbench-';
export const DOWN_RANGE = '198.18.64.0/20';
const RANGE_BASE = ipv4ToNumber('198.18.64.0');
const RANGE_SIZE = 4096;
const HOST_LINK = '198.18.80.1';
const FAR_LINK = '198.18.80.2';
const BLACKHOLE_METRIC = '4000';

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Removes namespaces of benchmarks that are no longer running, and their target servers. */
export function sweepStale(): string[] {
  const removed: string[] = [];
  const owned = namespacesOf(PREFIX);
  for (const { name, pid } of owned.filter((namespace) => !namespace.live)) {
    // A target server of ours that outlived its benchmark: it is the only thing we ever start in there.
    for (const inside of ip(['netns', 'pids', name]).split('\n').map(Number).filter((n) => n > 0)) {
      if (commandLine(inside).includes('bench/target-server.js')) {
        try {
          process.kill(inside, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    removeNamespace(name, `vbh${pid}`);
    removed.push(name);
  }
  const anyLive = owned.some((namespace) => namespace.live);
  if (!anyLive) tryIp(['route', 'del', 'blackhole', DOWN_RANGE, 'metric', BLACKHOLE_METRIC]);
  return removed;
}

export interface DownShareNet {
  readonly namespace: string;
  readonly hostInterface: string;
  readonly range: string;
  /** The first `count` addresses of the range (at most 4094), each checked to route into our veth. */
  addresses(count: number): string[];
  /** The hosts stop answering: packets still go into our veth and are dropped there. */
  down(): void;
  up(): void;
  close(): void;
}

export function startDownShareNet(): DownShareNet {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root: it makes a network namespace and a veth pair for the VIMs that go down');
  try {
    ip(['-V']);
  } catch {
    throw new Error('the benchmark needs iproute2 (`ip`): apt-get install -y iproute2');
  }
  sweepStale();
  const namespace = `${PREFIX}${process.pid}`;
  const hostInterface = `vbh${process.pid}`;
  const farInterface = `vbn${process.pid}`;
  const existing = ip(['route', 'show', 'root', DOWN_RANGE]).trim();
  if (existing !== '') {
    throw new Error(`${DOWN_RANGE} is already routed on this host (${existing.split('\n')[0]}): is another benchmark running?`);
  }

  // Deleting the link takes our route with it at once; the namespace goes asynchronously.
  const close = () => removeNamespace(namespace, hostInterface);
  setUpOrUndo(`could not set up ${namespace}`, close, () => {
    ip(['route', 'add', 'blackhole', DOWN_RANGE, 'metric', BLACKHOLE_METRIC]);
    addVethNamespace({ namespace, hostSide: hostInterface, farSide: farInterface, hostAddresses: [`${HOST_LINK}/30`], farAddress: `${FAR_LINK}/30`, loopback: true });
    ip(['route', 'add', DOWN_RANGE, 'via', FAR_LINK, 'dev', hostInterface]);
    ip(['-n', namespace, 'route', 'add', 'local', DOWN_RANGE, 'dev', 'lo']);
  });

  return {
    namespace,
    hostInterface,
    range: DOWN_RANGE,
    addresses(count) {
      if (count > RANGE_SIZE - 2) throw new Error(`at most ${RANGE_SIZE - 2} VIMs can go down in ${DOWN_RANGE}; asked for ${count}`);
      const list = Array.from({ length: count }, (_, i) => numberToIpv4(RANGE_BASE + 1 + i));
      // Never send a packet off this machine: each address must route into our own link.
      const answer = ip(['-batch', '-'], list.map((a) => `route get ${a}\n`).join(''));
      const routed = new Map<string, string>();
      for (const line of answer.split('\n')) {
        const match = /^(\d+\.\d+\.\d+\.\d+) (.*)$/.exec(line);
        if (match) routed.set(match[1]!, match[2]!);
      }
      for (const address of list) {
        const route = routed.get(address);
        if (!route?.includes(`dev ${hostInterface} `)) throw new Error(`${address} does not route into ${hostInterface}: ${route ?? 'no answer from ip route get'}`);
      }
      return list;
    },
    down() {
      ip(['-n', namespace, 'route', 'del', 'local', DOWN_RANGE, 'dev', 'lo', 'table', 'local']);
    },
    up() {
      ip(['-n', namespace, 'route', 'replace', 'local', DOWN_RANGE, 'dev', 'lo', 'table', 'local']);
    },
    close() {
      close();
      tryIp(['route', 'del', 'blackhole', DOWN_RANGE, 'metric', BLACKHOLE_METRIC]);
    },
  };
}

/**
 * Loopback addresses for the VIMs that stay up: 127.20.0.1 onwards, skipping
 * .0 and .255, so 127.0.0.1 (the API, the database) is never a target.
 */
export function loopbackAddresses(count: number): string[] {
  const base = ipv4ToNumber('127.20.0.0');
  const list: string[] = [];
  for (let n = base; list.length < count; n++) {
    const last = n % 256;
    if (last === 0 || last === 255) continue;
    list.push(numberToIpv4(n));
  }
  if (ipv4ToNumber(list[list.length - 1] ?? '127.20.0.1') >= ipv4ToNumber('127.255.255.0')) throw new Error(`too many loopback targets: ${count}`);
  return list;
}
