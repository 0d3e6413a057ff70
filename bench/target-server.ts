/**
 * The simulated VIMs' identity endpoint: answers Keystone's version document
 * (`GET /v3` → 200 `{"version":{"id":"v3.14","status":"stable"}}`) on every
 * address it can be reached at. Run as its own process by the benchmark:
 *
 *   node dist-bench/bench/target-server.js --host 0.0.0.0 --port 0 --only-local-prefix 127.
 *
 * On the host it listens on 0.0.0.0 because one socket must answer on every
 * 127.a.b.c; `--only-local-prefix 127.` closes at once any connection made to
 * another local address, so nothing but loopback is served. Inside the
 * benchmark's network namespace the only other address is the veth link's.
 *
 * Prints one JSON line `{"listening":PORT}` when ready and, on SIGTERM,
 * `{"requests":N,"connections":M,"refused":R}` before exiting.
 *
 * `GET /_bench/checked?since=EPOCH_MS` (from 127.0.0.1 only) lists the local
 * addresses whose version document was asked for at or after that time:
 * the benchmark's way to see, from the VIMs' side, which of them were
 * checked, whichever process checked them.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'only-local-prefix': { type: 'string' },
    // Apache's default KeepAliveTimeout (5 s), which fronts Keystone in most deployments: with checks
    // every 10 s, each api check opens a new connection, the costlier case for the monitor.
    'keep-alive': { type: 'string', default: '5' },
  },
});

const VERSION = JSON.stringify({ version: { id: 'v3.14', status: 'stable' } });
const NOT_FOUND = JSON.stringify({ error: { code: 404, message: 'The resource could not be found.', title: 'Not Found' } });
const counts = { requests: 0, connections: 0, refused: 0 };
const prefix = values['only-local-prefix'];
/** Local address → epoch ms of its latest version-document request. */
const lastChecked = new Map<string, number>();
const localOf = (address: string | undefined) => address?.replace(/^::ffff:/, '') ?? '';

const server = createServer((request, response) => {
  counts.requests += 1;
  const [path, query] = (request.url ?? '/').split('?') as [string, string | undefined];
  if (path === '/_bench/checked' && localOf(request.socket.remoteAddress) === '127.0.0.1') {
    const since = Number(new URLSearchParams(query ?? '').get('since') ?? 0);
    const addresses = [...lastChecked].filter(([, at]) => at >= since).map(([address]) => address);
    const json = JSON.stringify({ now: Date.now(), addresses });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    response.end(json);
    return;
  }
  const found = request.method === 'GET' && (path === '/v3' || path === '/v3/');
  if (found) lastChecked.set(localOf(request.socket.localAddress), Date.now());
  const body = found ? VERSION : NOT_FOUND;
  response.writeHead(found ? 200 : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
});
server.keepAliveTimeout = Number(values['keep-alive']) * 1000;
server.maxConnections = 60_000;
server.on('connection', (socket) => {
  const local = localOf(socket.localAddress);
  if (prefix !== undefined && !local.startsWith(prefix)) {
    counts.refused += 1;
    socket.destroy();
    return;
  }
  counts.connections += 1;
});

server.listen({ host: values.host, port: Number(values.port), backlog: 4096 }, () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ listening: typeof address === 'object' && address ? address.port : null })}\n`);
});

const stop = () => {
  process.stdout.write(`${JSON.stringify(counts)}\n`, () => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
