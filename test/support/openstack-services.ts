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
 * `compute` is nova-api alone (python3-nova): API database, cell0 and one cell
 * on SQLite, RPC on oslo.messaging's in-memory fake transport, no conductor,
 * scheduler or compute host. It answers what reads only the databases
 * (servers, flavors, hypervisors, limits, quota sets); anything that needs RPC
 * (booting a server) cannot work here.
 *
 * Needs the Debian packages python3-placement, python3-glance and (for compute)
 * python3-nova (see .ci/run);
 * run by /usr/bin/python3 (KEYSTONE_PYTHON overrides, as for Keystone).
 * OPENSTACK_FIXTURE_KEEP=1 keeps the temporary directories for debugging.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FixtureDirs } from './runner-process.js';
import { REGION, type KeystoneFixture } from './keystone.js';
import { placementAdmin, type PlacementAdmin } from './openstack/placement-api.js';
import {
  assertOpenStackPackages,
  migrateDatabase,
  python,
  readTail,
  SPECS,
  SUPPORT_DIR,
  type OpenStackServiceType,
  type ServiceSpec,
} from './openstack/service-specs.js';
import { spawnWsgiProcess, type WsgiProcess } from './openstack/wsgi-process.js';

export { assertOpenStackPackages, OPENSTACK_PACKAGES, type OpenStackServiceType } from './openstack/service-specs.js';

export interface OpenStackEndpoint {
  type: OpenStackServiceType;
  /** http://127.0.0.1:<port> (compute: .../v2.1), the same for public, internal and admin */
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
  /** milliseconds since start at which each service's startup phases ended, e.g. 'glance:ready' */
  startupPhases: Record<string, number>;
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


const liveDirs = new FixtureDirs('OPENSTACK_FIXTURE_KEEP');

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
  const phases: Record<string, number> = {};
  const phase = (name: string): void => {
    phases[name] = Date.now() - started;
  };
  const timeoutMs = options.timeoutMs ?? 90_000;
  const types = [...new Set(options.services)];
  const versions = assertOpenStackPackages(types);

  const processOptions = (spec: ServiceSpec, dir: string, port: number, waitForGo: boolean) => ({
    python: python(),
    app: spec.name,
    configDir: dir,
    sqliteDbs: spec.dbs.map((db) => path.join(dir, db)),
    logFile: path.join(dir, 'server.log'),
    port,
    waitForGo,
  });

  const running = new Map<OpenStackServiceType, Running>();
  const cleanup = async (): Promise<void> => {
    for (const r of running.values()) {
      await r.process?.stop();
      if (r.serviceId) await keystone.adminRequest('DELETE', `/services/${r.serviceId}`).catch(() => undefined);
      if (process.env.OPENSTACK_FIXTURE_KEEP !== '1') {
        await rm(r.dir, { recursive: true, force: true });
        liveDirs.forget(r.dir);
      }
    }
  };

  const startOne = async (spec: ServiceSpec): Promise<void> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `vim-monitor-${spec.name}-`));
    liveDirs.remember(dir);
    const entry: Running = { spec, dir, port: 0, serviceId: '', process: undefined };
    running.set(spec.type, entry);
    const password = `${spec.name}-${randomBytes(9).toString('base64url')}`;
    // The service user validates tokens: admin and service on project service, like tacker.
    await keystone.createUser(spec.name, 'service', ['admin', 'service'], password);
    phase(`${spec.name}:user`);
    if (spec.name === 'glance') {
      // the file store and the import staging area (glance-api.conf)
      await mkdir(path.join(dir, 'images'));
      await mkdir(path.join(dir, 'staging'));
    }
    for (const f of spec.files) {
      const text = (await readFile(path.join(SUPPORT_DIR, f.template), 'utf8'))
        .replaceAll('@DIR@', dir)
        .replaceAll('@KEYSTONE_URL@', keystone.url)
        .replaceAll('@SERVICE_USER@', spec.name)
        .replaceAll('@SERVICE_PASSWORD@', password);
      await writeFile(path.join(dir, f.target), text, { mode: 0o600 });
    }
    // The server imports its service while the database is migrated.
    const [spawned, migrated] = await Promise.allSettled([
      spawnWsgiProcess(processOptions(spec, dir, 0, true), timeoutMs),
      migrateDatabase(spec, dir, versions.get(spec.package) ?? 'unknown', timeoutMs),
    ]);
    if (spawned.status === 'rejected') throw spawned.reason;
    const proc = spawned.value;
    entry.process = proc;
    if (migrated.status === 'rejected') throw migrated.reason;
    entry.port = proc.port;
    phase(`${spec.name}:db-sync`);
    proc.go();
    await proc.waitReady(Math.max(1_000, timeoutMs - (Date.now() - started)));
    phase(`${spec.name}:ready`);

    const url = `http://127.0.0.1:${proc.port}${spec.urlPath}`;
    const created = await keystone.adminRequest('POST', '/services', {
      service: { type: spec.type, name: spec.name, description: `${spec.name} (vim-monitor tests)`, enabled: true },
    });
    entry.serviceId = String((created as { service: { id: string } }).service.id);
    for (const iface of ['public', 'internal', 'admin']) {
      await keystone.adminRequest('POST', '/endpoints', {
        endpoint: { service_id: entry.serviceId, interface: iface, url, region_id: REGION, enabled: true },
      });
    }
    phase(`${spec.name}:catalog`);
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
    endpoints[type] = { type, url: `http://127.0.0.1:${r.port}${r.spec.urlPath}`, port: r.port, serviceId: r.serviceId, dir: r.dir };
  }
  const placementEndpoint = endpoints.placement;
  return {
    endpoints,
    startupMs: Date.now() - started,
    startupPhases: phases,
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


async function logsOf(r: Running, lines: number): Promise<string> {
  return [
    `${r.spec.log}:`,
    await readTail(path.join(r.dir, r.spec.log), lines),
    'server.log:',
    await readTail(path.join(r.dir, 'server.log'), lines),
  ].join('\n');
}
