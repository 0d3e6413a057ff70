/**
 * A second vantage point on this machine: a network namespace of our own,
 * joined to the host by a veth pair on a /29 of 198.19.128.0/17 (RFC 2544's
 * benchmarking range), where one worker runs. It reaches the host side of
 * the link (and through a relay there, the database), the host reaches it,
 * and `cut(address)` makes one host address unreachable from inside the
 * namespace only (an `unreachable` route there), so a VIM on that address is
 * down from that worker and up from every other one.
 *
 *   host:      H = base+1/29 on vch<pid>, and T = base+5/32 on the same link
 *   namespace: N = base+2/29 on vcn<pid>, lo up; no default route
 *
 * Nothing leaves the machine: every address is checked with `ip route get`
 * (local on the host, or our own link). Needs root and iproute2.
 */
import { addVethNamespace, closeAtExit, dotted, ip, removeNamespace, setUpOrUndo, sweepStale, tryIp, workerSubnetBase } from './netns-kit.js';

const PREFIX = 'vimconfirm-';

export interface VantageNet {
  namespace: string;
  /** The host side of the link: reachable from the namespace and local here. */
  hostAddress: string;
  /** The namespace's address: where its worker's API listens. */
  farAddress: string;
  /** A second host address that the namespace reaches until cut(). */
  targetAddress: string;
  /** Runs a command inside the namespace: the prefix for spawn. */
  exec: string[];
  cut(address: string): void;
  restore(address: string): void;
  close(): void;
}

export function startVantageNet(): VantageNet {
  if (process.getuid?.() !== 0) throw new Error('startVantageNet() needs root (a network namespace and a veth pair): run the tests as root, as .ci/run does');
  sweepStale(PREFIX, (pid) => `vch${pid}`);
  const namespace = `${PREFIX}${process.pid}`;
  const hostSide = `vch${process.pid}`;
  const farSide = `vcn${process.pid}`;
  const base = workerSubnetBase();
  const hostAddress = dotted(base + 1);
  const farAddress = dotted(base + 2);
  const targetAddress = dotted(base + 5);
  // Free addresses fall under the host's blackhole for 198.18.0.0/15 (`ip route get` refuses them); a route means someone else's link.
  for (const address of [hostAddress, farAddress, targetAddress]) {
    let route: string | undefined;
    try {
      route = ip(['route', 'get', address]);
    } catch {
      route = undefined;
    }
    if (route !== undefined) throw new Error(`${address} is already routed on this host (${route.trim()}): another test's namespace?`);
  }
  const close = () => removeNamespace(namespace, hostSide);
  close();
  setUpOrUndo(`startVantageNet() could not set up ${namespace}`, close, () => {
    addVethNamespace({ namespace, hostSide, farSide, hostAddresses: [`${hostAddress}/29`, `${targetAddress}/32`], farAddress: `${farAddress}/29`, loopback: true });
    // Never a packet off this machine: the host addresses are local here, the far one on our link; inside, both on the link.
    const checks: Array<[string[], RegExp]> = [
      [['route', 'get', hostAddress], /^local .* dev lo/],
      [['route', 'get', targetAddress], /^local .* dev lo/],
      [['route', 'get', farAddress], new RegExp(`dev ${hostSide} `)],
      [['-n', namespace, 'route', 'get', hostAddress], new RegExp(`dev ${farSide} `)],
      [['-n', namespace, 'route', 'get', targetAddress], new RegExp(`dev ${farSide} `)],
    ];
    for (const [args, expected] of checks) {
      const route = ip(args);
      if (!expected.test(route)) throw new Error(`ip ${args.join(' ')}: ${route.trim()} (expected ${expected})`);
    }
  });
  const closeNow = closeAtExit(close);
  return {
    namespace,
    hostAddress,
    farAddress,
    targetAddress,
    exec: ['ip', 'netns', 'exec', namespace],
    cut: (address) => {
      ip(['-n', namespace, 'route', 'replace', 'unreachable', `${address}/32`]);
    },
    restore: (address) => tryIp(['-n', namespace, 'route', 'del', 'unreachable', `${address}/32`]), // not cut: nothing to do
    close: closeNow,
  };
}
