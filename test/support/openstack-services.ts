/**
 * Real OpenStack services for tests, next to the Keystone fixture: Placement
 * and Glance from Debian's packages, each its own process serving its WSGI
 * application on 127.0.0.1:<free port> (test/support/openstack/wsgi_server.py)
 * with its own SQLite database in a temporary directory, keystonemiddleware's
 * auth_token against the fixture's Keystone (service users `placement` and
 * `glance` in project `service`), and registered in Keystone's catalog
 * (types `placement` and `image`; public, internal and admin endpoints in
 * RegionOne).
 *
 * stop(name) ends one service's process and leaves its endpoints in the
 * catalog (a cloud whose image API is down); start(name) brings it back on
 * the same port with the same database.
 *
 * Needs the Debian packages python3-placement and python3-glance (see .ci/run);
 * run by /usr/bin/python3 (KEYSTONE_PYTHON overrides, as for Keystone).
 * OPENSTACK_FIXTURE_KEEP=1 keeps the temporary directories for debugging.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REGION, type KeystoneFixture } from './keystone.js';
import { placementAdmin, type PlacementAdmin } from './openstack/placement-api.js';
import { spawnWsgiProcess, type WsgiProcess } from './openstack/wsgi-process.js';

export type OpenStackServiceType = 'placement' | 'image';

export const OPENSTACK_PACKAGES = ['python3-placement', 'python3-glance'] as const;

interface ServiceSpec {
  type: OpenStackServiceType;
  /** catalog name, service user and runner --app */
  name: 'placement' | 'glance';
  app: 'placement' | 'glance';
  package: (typeof OPENSTACK_PACKAGES)[number];
  files: Array<{ template: string; target: string }>;
  db: string;
  dbSync: (python: string, dir: string) => string[];
}

const SUPPORT_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'openstack');

const SPECS: Record<OpenStackServiceType, ServiceSpec> = {
  placement: {
    type: 'placement',
    name: 'placement',
    app: 'placement',
    package: 'python3-placement',
    files: [{ template: 'placement.conf.template', target: 'placement.conf' }],
    db: 'placement.db',
    dbSync: (_python, dir) => ['/usr/bin/placement-manage', '--config-file', path.join(dir, 'placement.conf'), 'db', 'sync'],
  },
  image: {
    type: 'image',
    name: 'glance',
    app: 'glance',
    package: 'python3-glance',
    files: [
      { template: 'glance-api.conf.template', target: 'glance-api.conf' },
      { template: 'glance-api-paste.ini', target: 'glance-api-paste.ini' },
    ],
    db: 'glance.db',
    // python3-glance has no glance-manage script (glance-common has, with dbconfig): its entry point.
    dbSync: (python, dir) => [
      python, '-c', 'import sys; from glance.cmd.manage import main; sys.exit(main())',
      '--config-file', path.join(dir, 'glance-api.conf'), 'db_sync',
    ],
  },
};

export interface OpenStackEndpoint {
  type: OpenStackServiceType;
  /** http://127.0.0.1:<port>, the same for public, internal and admin */
  url: string;
  port: number;
  /** Keystone's service id */
  serviceId: string;
  dir: string;
}

export interface OpenStackServices {
  endpoints: Partial<Record<OpenStackServiceType, OpenStackEndpoint>>;
  /** milliseconds startOpenStackServices() took */
  startupMs: number;
  /** admin helpers for capacity (only when placement was started) */
  placement: PlacementAdmin | undefined;
  /** Ends the service's process (connections are refused); its endpoints stay in the catalog. Idempotent. */
  stop(type: OpenStackServiceType): Promise<void>;
  /** Starts it again on the same port with the same database. Idempotent. */
  start(type: OpenStackServiceType): Promise<void>;
  logTail(type: OpenStackServiceType, lines?: number): Promise<string>;
  /** Stops every service, removes its catalog entries (Keystone still up) and temporary directories. */
  close(): Promise<void>;
}

export interface StartOpenStackServicesOptions {
  services: OpenStackServiceType[];
  /** ms to wait for the whole startup (default 90 s) */
  timeoutMs?: number;
}

function python(): string {
  return process.env.KEYSTONE_PYTHON ?? '/usr/bin/python3';
}

/** Fails loudly, naming the Debian packages, when they are not installed (never a skip). */
export function assertOpenStackPackages(types: OpenStackServiceType[]): void {
  const wanted = [...new Set(types.map((t) => SPECS[t].package))];
  const res = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...wanted], { encoding: 'utf8' });
  const installed = new Set(
    (res.stdout ?? '').split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]),
  );
  const missing = wanted.filter((p) => !installed.has(p));
  if (missing.length > 0) {
    throw new Error(
      `OpenStack services fixture: Debian package(s) ${missing.join(', ')} not installed` +
        `${res.error ? ` (dpkg-query: ${res.error.message})` : ''}; ` +
        `install them with apt-get install --no-install-recommends ${missing.join(' ')} (see APT_PACKAGES in .ci/run)`,
    );
  }
}

function run(argv: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const [command = '', ...args] = argv;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => out.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => out.push(Buffer.from(String(err))));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output: Buffer.concat(out).toString('utf8') });
    });
  });
}

async function readTail(file: string, lines: number): Promise<string> {
  try {
    const all = (await readFile(file, 'utf8')).split('\n');
    return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
  } catch {
    return '(no file)';
  }
}

interface Running {
  spec: ServiceSpec;
  dir: string;
  port: number;
  serviceId: string;
  process: WsgiProcess | undefined;
}

export async function startOpenStackServices(
  keystone: KeystoneFixture,
  options: StartOpenStackServicesOptions,
): Promise<OpenStackServices> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 90_000;
  const types = [...new Set(options.services)];
  assertOpenStackPackages(types);

  const processOptions = (spec: ServiceSpec, dir: string, port: number, waitForGo: boolean) => ({
    python: python(),
    app: spec.app,
    configDir: dir,
    sqliteDb: path.join(dir, spec.db),
    logFile: path.join(dir, 'server.log'),
    port,
    waitForGo,
  });

  const running = new Map<OpenStackServiceType, Running>();
  const cleanup = async (): Promise<void> => {
    for (const r of running.values()) {
      await r.process?.stop();
      if (r.serviceId) await keystone.adminRequest('DELETE', `/services/${r.serviceId}`).catch(() => undefined);
      if (process.env.OPENSTACK_FIXTURE_KEEP !== '1') await rm(r.dir, { recursive: true, force: true });
    }
  };

  const startOne = async (spec: ServiceSpec): Promise<void> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `vim-monitor-${spec.name}-`));
    const entry: Running = { spec, dir, port: 0, serviceId: '', process: undefined };
    running.set(spec.type, entry);
    const password = `${spec.name}-${randomBytes(9).toString('base64url')}`;
    // The service user validates tokens: admin and service on project service, like tacker.
    await keystone.createUser(spec.name, 'service', ['admin', 'service'], password);
    await mkdir(path.join(dir, 'images'));
    await mkdir(path.join(dir, 'staging'));
    for (const f of spec.files) {
      const text = (await readFile(path.join(SUPPORT_DIR, f.template), 'utf8'))
        .replaceAll('@DIR@', dir)
        .replaceAll('@KEYSTONE_URL@', keystone.url)
        .replaceAll('@SERVICE_USER@', spec.name)
        .replaceAll('@SERVICE_PASSWORD@', password);
      await writeFile(path.join(dir, f.target), text, { mode: 0o600 });
    }
    // The server imports its service while the database is migrated.
    const [proc, sync] = await Promise.all([
      spawnWsgiProcess(processOptions(spec, dir, 0, true), timeoutMs),
      run(spec.dbSync(python(), dir), timeoutMs),
    ]);
    entry.process = proc;
    entry.port = proc.port;
    await writeFile(path.join(dir, 'db-sync.log'), sync.output);
    if (sync.code !== 0) throw new Error(`${spec.name} database sync failed (code ${sync.code}):\n${readTailOf(sync.output)}`);
    proc.go();
    await proc.waitReady(Math.max(1_000, timeoutMs - (Date.now() - started)));

    const url = `http://127.0.0.1:${proc.port}`;
    const created = await keystone.adminRequest('POST', '/services', {
      service: { type: spec.type, name: spec.name, description: `${spec.name} (vim-monitor tests)`, enabled: true },
    });
    entry.serviceId = String((created as { service: { id: string } }).service.id);
    for (const iface of ['public', 'internal', 'admin']) {
      await keystone.adminRequest('POST', '/endpoints', {
        endpoint: { service_id: entry.serviceId, interface: iface, url, region_id: REGION, enabled: true },
      });
    }
  };

  try {
    await Promise.all(types.map((t) => startOne(SPECS[t])));
  } catch (err) {
    const logs = await Promise.all(
      [...running.values()].map(async (r) => `--- ${r.spec.name} (${r.dir}) ---\n${await logsOf(r, 30)}`),
    );
    await cleanup();
    throw new Error(`OpenStack services fixture: ${err instanceof Error ? err.message : String(err)}\n${logs.join('\n')}`);
  }

  let adminToken: Promise<string> | undefined;
  const tokenFor = (renew: boolean): Promise<string> => {
    if (!adminToken || renew) adminToken = keystone.issueToken(keystone.admin);
    return adminToken;
  };
  const get = (type: OpenStackServiceType): Running => {
    const r = running.get(type);
    if (!r) throw new Error(`OpenStack services fixture: ${type} was not started`);
    return r;
  };

  let closed = false;
  const endpoints: Partial<Record<OpenStackServiceType, OpenStackEndpoint>> = {};
  for (const [type, r] of running) {
    endpoints[type] = { type, url: `http://127.0.0.1:${r.port}`, port: r.port, serviceId: r.serviceId, dir: r.dir };
  }
  const placementEndpoint = endpoints.placement;
  return {
    endpoints,
    startupMs: Date.now() - started,
    placement: placementEndpoint ? placementAdmin(placementEndpoint.url, tokenFor) : undefined,
    async stop(type) {
      const r = get(type);
      await r.process?.stop();
      r.process = undefined;
    },
    async start(type) {
      const r = get(type);
      if (r.process) return;
      const proc = await spawnWsgiProcess(processOptions(r.spec, r.dir, r.port, false), timeoutMs);
      r.process = proc;
      await proc.waitReady(timeoutMs);
    },
    logTail: (type, lines = 60) => logsOf(get(type), lines),
    async close() {
      if (closed) return;
      closed = true;
      await cleanup();
    },
  };
}

function readTailOf(text: string, lines = 30): string {
  const all = text.split('\n');
  return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
}

async function logsOf(r: Running, lines: number): Promise<string> {
  const serviceLog = r.spec.app === 'glance' ? 'glance-api.log' : 'placement.log';
  return [
    `${serviceLog}:`,
    await readTail(path.join(r.dir, serviceLog), lines),
    'server.log:',
    await readTail(path.join(r.dir, 'server.log'), lines),
  ].join('\n');
}
