/**
 * A network namespace of our own for a worker that can be cut off: joined to
 * this host by a veth pair in 198.19.X.0/29 (RFC 2544's benchmarking range,
 * under the blackhole route for 198.18.0.0/15 that must stay):
 *
 *   host:      198.19.X.1/29 and .3/29 on vih<pid>  (local addresses of the host:
 *                                                   the host's own processes reach them on lo)
 *   namespace: 198.19.X.2/29 on vin<pid>,  lo up, no default route
 *
 * A process started with exec() lives inside: its only way out is the veth
 * link, where the test puts what it may reach: on .1 (hostAddress) its
 * database relay and canary, on .3 (serviceAddress) the VIMs' TCP services.
 * cut() takes the namespace's side of the link down: everything it sends
 * fails, while the host (and every other worker) keeps both addresses.
 * cutServices() makes only .3 unreachable from inside (an uplink to the VIMs
 * lost, the database still there). TCP connections that were open survive a
 * short cut, as on a real network.
 *
 * Every address is checked with `ip route get` before use. Needs root and
 * iproute2. Namespaces of dead test processes (`vimiso-<pid>`) are removed
 * when the next one starts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { addVethNamespace, closeAtExit, dotted, ip, removeNamespace, setUpOrUndo, sweepStale, workerSubnetBase } from './netns-kit.js';

const PREFIX = 'vimiso-';

export interface IsolatedNetns {
  readonly namespace: string;
  /** The host's side of the link: what a process in the namespace can reach (and, being local, every host process too). */
  readonly hostAddress: string;
  /** A second address on the host's side, for the services cutServices() takes away. */
  readonly serviceAddress: string;
  /** The namespace's own address. */
  readonly innerAddress: string;
  /** Starts a process inside the namespace. */
  exec(command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess;
  /** Runs a command inside the namespace and returns its output (e.g. curl to a server listening there). */
  run(command: string, args: string[]): string;
  cut(): void;
  restore(): void;
  cutServices(): void;
  restoreServices(): void;
  close(): void;
}

export function startIsolatedNetns(): IsolatedNetns {
  if (process.getuid?.() !== 0) throw new Error('startIsolatedNetns() needs root: it creates a network namespace and a veth pair');
  sweepStale(PREFIX, (pid) => `vih${pid}`);
  const namespace = `${PREFIX}${process.pid}`;
  const hostSide = `vih${process.pid}`;
  const farSide = `vin${process.pid}`;
  const base = workerSubnetBase();
  const hostAddress = dotted(base + 1);
  const innerAddress = dotted(base + 2);
  const serviceAddress = dotted(base + 3);
  const subnet = `${dotted(base)}/29`;
  // Only the blackhole may cover our /30 before we start: anything else is another test's namespace (more or less specific).
  const covering = [...ip(['route', 'show', 'root', subnet]).split('\n'), ...ip(['route', 'show', 'match', hostAddress]).split('\n')]
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('default ') && !line.startsWith('blackhole '));
  if (covering.length > 0) throw new Error(`${subnet} is already routed on this host (${covering[0]}): another test's namespace?`);
  if (!ip(['route', 'show', 'match', hostAddress]).includes('blackhole 198.18.0.0/15')) throw new Error('the blackhole route for 198.18.0.0/15 is missing: refusing to add test routes');

  const close = () => removeNamespace(namespace, hostSide);
  setUpOrUndo(`startIsolatedNetns() could not set up ${namespace}`, close, () => {
    addVethNamespace({ namespace, hostSide, farSide, hostAddresses: [`${hostAddress}/29`, `${serviceAddress}/29`], farAddress: `${innerAddress}/29`, loopback: true });
    // Never send a packet off this machine: the host reaches its own side locally and the namespace through our link;
    // the namespace has no default route, so nothing else is reachable from inside.
    for (const local of [hostAddress, serviceAddress]) {
      const fromHost = ip(['route', 'get', local]);
      if (!/^local /.test(fromHost.trim())) throw new Error(`${local} is not local on the host: ${fromHost.trim()}`);
      const fromInside = ip(['-n', namespace, 'route', 'get', local]);
      if (!fromInside.includes(`dev ${farSide}`)) throw new Error(`${local} is not reached through ${farSide} inside: ${fromInside.trim()}`);
    }
    const toInner = ip(['route', 'get', innerAddress]);
    if (!toInner.includes(`dev ${hostSide}`)) throw new Error(`${innerAddress} does not route into ${hostSide}: ${toInner.trim()}`);
    if (ip(['-n', namespace, 'route', 'show', 'default']).trim() !== '') throw new Error(`${namespace} has a default route`);
  });
  const closeNow = closeAtExit(close);
  return {
    namespace,
    hostAddress,
    serviceAddress,
    innerAddress,
    exec: (command, args, env) => spawn('ip', ['netns', 'exec', namespace, command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    run: (command, args) => execFileSync('ip', ['netns', 'exec', namespace, command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 }),
    cut: () => ip(['-n', namespace, 'link', 'set', farSide, 'down']),
    restore: () => {
      ip(['-n', namespace, 'link', 'set', farSide, 'up']);
      // The connected route comes back with the link; check it before anything relies on it.
      const route = ip(['-n', namespace, 'route', 'get', hostAddress]);
      if (!route.includes(`dev ${farSide}`)) throw new Error(`after restore, ${hostAddress} is not reached through ${farSide}: ${route.trim()}`);
    },
    cutServices: () => ip(['-n', namespace, 'route', 'add', 'unreachable', `${serviceAddress}/32`]),
    restoreServices: () => ip(['-n', namespace, 'route', 'del', 'unreachable', `${serviceAddress}/32`]),
    close: closeNow,
  };
}
