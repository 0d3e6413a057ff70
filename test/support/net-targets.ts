/**
 * Addresses that really do not answer, for the ICMP and TCP probe tests,
 * without sending a packet off this machine.
 *
 * startSilentHost() makes a network namespace of its own with a veth pair:
 * this side gets 198.18.X.1/30 and 100::X:1/112 (the benchmarking range of
 * RFC 2544 and the discard-only prefix of RFC 6666), the far side sits in the
 * namespace, up, with no address at all. Echo requests and SYNs to
 * 198.18.X.2 / 100::X:2 go into that veth link and nobody answers: a silent
 * host, as real as a cable to a dead machine. Deleting the namespace removes
 * the pair. X comes from the process id, so parallel runs do not collide.
 *
 * Needs root and iproute2 (`ip netns`), as .ci/run has.
 */
import { addVethNamespace, closeAtExit, dotted, ip, removeNamespace, setUpOrUndo, sweepStale, tryIp } from './netns-kit.js';

export interface SilentHost {
  /** An IPv4 address routed into the namespace's link, where nothing answers. */
  ipv4: string;
  /** The same for IPv6. */
  ipv6: string;
  close(): void;
}

const PREFIX = 'vimmon-';

export function startSilentHost(): SilentHost {
  if (process.getuid?.() !== 0) {
    throw new Error('startSilentHost() needs root (it creates a network namespace and a veth pair): run the tests as root, as .ci/run does');
  }
  try {
    ip(['-V']);
  } catch {
    throw new Error('startSilentHost() needs iproute2 (`ip`): apt-get install -y iproute2 (see .ci/run)');
  }
  // Namespaces left behind by a test process that was killed before close().
  sweepStale(PREFIX);
  const namespace = `${PREFIX}${process.pid}`;
  const hostSide = `vmh${process.pid}`;
  const farSide = `vmn${process.pid}`;
  const slot = process.pid % 32_768; // 198.18.0.0/15 holds 32768 /30 subnets
  const base = 198 * 2 ** 24 + 18 * 2 ** 16 + slot * 4;
  const ipv4 = dotted(base + 2);
  const ipv6 = `100::${slot.toString(16)}:2`;

  const close = () => removeNamespace(namespace);
  close(); // a leftover of this very pid (unlikely, but cheap)
  setUpOrUndo(`startSilentHost() could not set up ${namespace}`, close, () => {
    addVethNamespace({ namespace, hostSide, farSide, hostAddresses: [`${dotted(base + 1)}/30`, `100::${slot.toString(16)}:1/112`], loopback: false });
    // Never let a test packet leave the machine: both addresses must route into our link.
    for (const [family, address] of [['-4', ipv4], ['-6', ipv6]] as const) {
      const route = ip([family, 'route', 'get', address]);
      if (!route.includes(`dev ${hostSide}`)) throw new Error(`${address} does not route into ${hostSide}: ${route.trim()}`);
    }
  });
  const closeNow = closeAtExit(close);
  return {
    ipv4,
    ipv6,
    close: closeNow,
  };
}

export interface TestHost {
  /** An IPv4 address inside a namespace of our own that answers ICMP echo while up. */
  ipv4: string;
  /** Removes the far side's address: the host stops answering, and packets still stay on our veth link. */
  down(): void;
  up(): void;
  close(): void;
}

/**
 * A host that can be taken off the network and brought back: the far side of
 * a veth pair in a namespace of our own, with an address while up and none
 * while down. The link and its route stay in place throughout, so a packet
 * for it never takes the default route off this machine.
 */
export function startTestHost(): TestHost {
  const silent = startSilentHost();
  const namespace = `${PREFIX}${process.pid}`;
  const farSide = `vmn${process.pid}`;
  const address = `${silent.ipv4}/30`;
  const host: TestHost = {
    ipv4: silent.ipv4,
    up: () => {
      ip(['-n', namespace, 'addr', 'replace', address, 'dev', farSide]);
    },
    down: () => tryIp(['-n', namespace, 'addr', 'del', address, 'dev', farSide]), // already down: nothing to do
    close: () => silent.close(),
  };
  host.up();
  return host;
}
