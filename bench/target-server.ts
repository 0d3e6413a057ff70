/**
 * The simulated VIMs: one process that answers, on every address it can be
 * reached at, what vim-monitor's probes and deep checks ask of an OpenStack
 * cloud. Run as its own process by the benchmark:
 *
 *   node dist-bench/bench/target-server.js --host 0.0.0.0 --port 0 --only-local-prefix 127. --providers 4
 *
 * On the host it listens on 0.0.0.0 because one socket must answer on every
 * 127.a.b.c; `--only-local-prefix 127.` closes at once any connection made to
 * another local address, so nothing but loopback is served. Inside the
 * benchmark's network namespace the only other address is the veth link's.
 *
 * What it answers (auth_url is `http://ADDRESS:PORT/v3`; every URL it hands
 * out in a catalog is on the address the request came to, so each simulated
 * VIM is a cloud of its own):
 * - `GET /v3`: Keystone's version document (the api probe; with a token,
 *   the catalog check's identity endpoint).
 * - `POST /v3/auth/tokens`: 201, a token in `X-Subject-Token`, body with
 *   `expires_at` (12 h on) and `user.password_expires_at` (90 days on), as
 *   Keystone with `[security_compliance] password_expires_days` set.
 *   Credentials are not verified: every login succeeds.
 * - `GET /v3/auth/tokens` (with `X-Subject-Token`): 200, the same body (the
 *   auth probe's validation of its cached token).
 * - `GET /v3/regions`, `GET /v3/auth/catalog`: one region; the catalog lists
 *   identity, compute, network, image, placement and volumev3, a public and
 *   an internal endpoint each, under paths of this server.
 * - `GET` of each service endpoint (`/compute/v2.1`, `/network`, `/image`,
 *   `/placement`, `/volume/v3`): a small version document.
 * - Placement (`/placement/resource_providers`, `…/{uuid}/inventories`,
 *   `…/{uuid}/usages`): `--providers` compute nodes with VCPU, MEMORY_MB and
 *   DISK_GB inventories and usages, the same for every VIM.
 * Everything but the version document without a token needs `X-Auth-Token`
 * (401 otherwise); anything else is 404.
 *
 * Prints one JSON line `{"listening":PORT}` when ready and, on SIGTERM,
 * `{"requests":N,"connections":M,"refused":R,"by_kind":{…}}` before exiting.
 *
 * From 127.0.0.1 only:
 * - `GET /_bench/checked?since=EPOCH_MS` lists the local addresses whose
 *   version document was asked for at or after that time: the benchmark's
 *   way to see, from the VIMs' side, which of them were checked, whichever
 *   process checked them.
 * - `GET /_bench/counts`: requests so far, in total and by kind (`version`,
 *   `token_issue`, `token_validate`, `regions`, `catalog`, `service:<type>`,
 *   `placement_providers`, `placement_inventories`, `placement_usages`,
 *   `unauthorized`, `not_found`, `unavailable`), and this process's CPU seconds.
 * - `POST /_bench/outage` with `{"down":[ADDRESS…],"up":[ADDRESS…]}`: from
 *   then on every request to a down address is answered 503 (the api probe's
 *   "service not serving"), until it is brought up again. The dashboard
 *   phase flips single VIMs this way, hundreds a minute, which taking a
 *   whole namespace's route away cannot do.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'only-local-prefix': { type: 'string' },
    // Apache's default KeepAliveTimeout (5 s), which fronts Keystone in most deployments: with checks
    // every 10 s, each api check opens a new connection, the costlier case for the monitor.
    'keep-alive': { type: 'string', default: '5' },
    // Compute nodes Placement lists per VIM: the capacity check makes 1 + 2 × this many GETs.
    providers: { type: 'string', default: '4' },
  },
});

const json = (value: unknown) => JSON.stringify(value);
const VERSION = json({ version: { id: 'v3.14', status: 'stable' } });
const NOT_FOUND = json({ error: { code: 404, message: 'The resource could not be found.', title: 'Not Found' } });
const UNAUTHORIZED = json({ error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } });
const REGIONS = json({ regions: [{ id: 'RegionOne', description: '', parent_region_id: null }] });
const UNAVAILABLE = json({ error: { code: 503, message: 'The server is currently unavailable.', title: 'Service Unavailable' } });
const HOUR_MS = 3_600_000;

/** Catalog service type → path of its endpoint on this server, and the document its GET answers. */
const SERVICES: ReadonlyArray<{ type: string; path: string; body: string }> = [
  { type: 'identity', path: '/v3', body: VERSION },
  { type: 'compute', path: '/compute/v2.1', body: json({ version: { id: 'v2.1', status: 'CURRENT', version: '2.95', min_version: '2.1' } }) },
  { type: 'network', path: '/network', body: json({ versions: [{ id: 'v2.0', status: 'CURRENT' }] }) },
  { type: 'image', path: '/image', body: json({ versions: [{ id: 'v2.16', status: 'CURRENT' }] }) },
  { type: 'placement', path: '/placement', body: json({ versions: [{ id: 'v1.0', max_version: '1.39', min_version: '1.0', status: 'CURRENT' }] }) },
  { type: 'volumev3', path: '/volume/v3', body: json({ versions: [{ id: 'v3.0', status: 'CURRENT', version: '3.70' }] }) },
];
const SERVICE_BY_PATH = new Map(SERVICES.filter((s) => s.type !== 'identity').map((s) => [s.path, s]));

const providerCount = Math.max(0, Math.min(1000, Math.round(Number(values.providers))));
const PROVIDER_UUIDS = Array.from({ length: providerCount }, (_, i) => `0b5e1c3a-0000-4000-8000-${String(i + 1).padStart(12, '0')}`);
const PROVIDERS = json({ resource_providers: PROVIDER_UUIDS.map((uuid, i) => ({ uuid, name: `compute-${i + 1}`, generation: 7 })) });
const INVENTORIES = json({
  resource_provider_generation: 7,
  inventories: {
    VCPU: { total: 64, reserved: 0, min_unit: 1, max_unit: 64, step_size: 1, allocation_ratio: 4 },
    MEMORY_MB: { total: 262_144, reserved: 512, min_unit: 1, max_unit: 262_144, step_size: 1, allocation_ratio: 1 },
    DISK_GB: { total: 3_500, reserved: 0, min_unit: 1, max_unit: 3_500, step_size: 1, allocation_ratio: 1 },
  },
});
const USAGES = json({ resource_provider_generation: 7, usages: { VCPU: 96, MEMORY_MB: 131_072, DISK_GB: 1_200 } });
const PLACEMENT_ITEM = /^\/placement\/resource_providers\/([^/]+)\/(inventories|usages)$/;
const knownProvider = new Set(PROVIDER_UUIDS);

/** Keystone's time format: UTC, microseconds, Z. */
const keystoneTime = (epochMs: number) => new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

function tokenBody(now: number): string {
  return json({
    token: {
      methods: ['password'],
      issued_at: keystoneTime(now),
      expires_at: keystoneTime(now + 12 * HOUR_MS),
      user: { id: 'b0c0a5e1d2f34a5b8c9d0e1f2a3b4c5d', name: 'bench', domain: { id: 'default', name: 'Default' }, password_expires_at: keystoneTime(now + 90 * 24 * HOUR_MS) },
      project: { id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', name: 'bench', domain: { id: 'default', name: 'Default' } },
      roles: [{ id: 'r1', name: 'member' }],
    },
  });
}

function catalogBody(base: string): string {
  return json({
    catalog: SERVICES.map((s) => ({
      type: s.type,
      name: s.type,
      id: s.type,
      endpoints: ['public', 'internal'].map((iface) => ({ id: `${s.type}-${iface}`, interface: iface, region_id: 'RegionOne', region: 'RegionOne', url: `${base}${s.path}` })),
    })),
  });
}

const counts = { requests: 0, connections: 0, refused: 0 };
const byKind: Record<string, number> = {};
const prefix = values['only-local-prefix'];
/** Local address → epoch ms of its latest version-document request. */
const lastChecked = new Map<string, number>();
const localOf = (address: string | undefined) => address?.replace(/^::ffff:/, '') ?? '';
/** Local addresses whose simulated cloud is out of service (POST /_bench/outage). */
const outage = new Set<string>();
let tokenSerial = 0;

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

/** Answers one request; returns its kind for the counts. */
function answer(request: IncomingMessage, response: ServerResponse, path: string): string {
  const method = request.method ?? 'GET';
  const token = request.headers['x-auth-token'];
  if (method === 'GET' && (path === '/v3' || path === '/v3/') && token === undefined) {
    lastChecked.set(localOf(request.socket.localAddress), Date.now());
    send(response, 200, VERSION);
    return 'version';
  }
  if (method === 'POST' && path === '/v3/auth/tokens') {
    // Read (and drop) the credentials before answering, as Keystone does.
    request.resume();
    tokenSerial += 1;
    send(response, 201, tokenBody(Date.now()), { 'x-subject-token': `gAAAAAbench${process.pid}x${tokenSerial}` });
    return 'token_issue';
  }
  if (typeof token !== 'string' || token === '') {
    send(response, 401, UNAUTHORIZED);
    return 'unauthorized';
  }
  if (method !== 'GET') {
    send(response, 404, NOT_FOUND);
    return 'not_found';
  }
  if (path === '/v3' || path === '/v3/') {
    send(response, 200, VERSION);
    return 'service:identity';
  }
  if (path === '/v3/auth/tokens') {
    send(response, 200, tokenBody(Date.now()), { 'x-subject-token': String(request.headers['x-subject-token'] ?? '') });
    return 'token_validate';
  }
  if (path === '/v3/regions') {
    send(response, 200, REGIONS);
    return 'regions';
  }
  if (path === '/v3/auth/catalog') {
    const port = request.socket.localPort ?? 0;
    send(response, 200, catalogBody(`http://${localOf(request.socket.localAddress)}:${port}`));
    return 'catalog';
  }
  const service = SERVICE_BY_PATH.get(path);
  if (service) {
    send(response, 200, service.body);
    return `service:${service.type}`;
  }
  if (path === '/placement/resource_providers') {
    send(response, 200, PROVIDERS);
    return 'placement_providers';
  }
  const item = PLACEMENT_ITEM.exec(path);
  if (item && knownProvider.has(decodeURIComponent(item[1]!))) {
    const inventories = item[2] === 'inventories';
    send(response, 200, inventories ? INVENTORIES : USAGES);
    return inventories ? 'placement_inventories' : 'placement_usages';
  }
  send(response, 404, NOT_FOUND);
  return 'not_found';
}

const server = createServer((request, response) => {
  counts.requests += 1;
  const [path, query] = (request.url ?? '/').split('?') as [string, string | undefined];
  if (path.startsWith('/_bench/') && localOf(request.socket.remoteAddress) === '127.0.0.1') {
    counts.requests -= 1;
    if (path === '/_bench/outage' && request.method === 'POST') {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        try {
          const change = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { down?: string[]; up?: string[] };
          for (const address of change.down ?? []) outage.add(address);
          for (const address of change.up ?? []) outage.delete(address);
          send(response, 200, json({ down: outage.size }));
        } catch {
          send(response, 400, json({ error: 'expected {"down":[…],"up":[…]}' }));
        }
      });
      return;
    }
    if (path === '/_bench/checked') {
      const since = Number(new URLSearchParams(query ?? '').get('since') ?? 0);
      const addresses = [...lastChecked].filter(([, at]) => at >= since).map(([address]) => address);
      send(response, 200, json({ now: Date.now(), addresses }));
    } else {
      const cpu = process.cpuUsage();
      send(response, 200, json({ ...counts, by_kind: byKind, cpu_seconds: (cpu.user + cpu.system) / 1e6 }));
    }
    return;
  }
  let kind: string;
  if (outage.has(localOf(request.socket.localAddress))) {
    request.resume();
    send(response, 503, UNAVAILABLE);
    kind = 'unavailable';
  } else {
    kind = answer(request, response, path);
  }
  byKind[kind] = (byKind[kind] ?? 0) + 1;
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
  process.stdout.write(`${JSON.stringify({ ...counts, by_kind: byKind })}\n`, () => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
