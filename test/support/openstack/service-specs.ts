/**
 * What the OpenStack services fixture (test/support/openstack-services.ts)
 * runs: the Debian package, configuration files and database sync of each
 * service, the package check, and the migrated-schema cache.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type OpenStackServiceType = 'placement' | 'image' | 'compute';

export const OPENSTACK_PACKAGES = ['python3-placement', 'python3-glance', 'python3-nova'] as const;

export type WsgiApp = 'placement' | 'glance' | 'nova';

export interface ServiceSpec {
  type: OpenStackServiceType;
  /** catalog name, service user and runner --app */
  name: WsgiApp;
  package: (typeof OPENSTACK_PACKAGES)[number];
  files: Array<{ template: string; target: string }>;
  /** the service's own log file (log_file in its configuration) */
  log: string;
  /** SQLite databases (file names in the service's directory) */
  dbs: string[];
  /** commands that create and migrate them, run in order */
  dbSync: (python: string, dir: string) => string[][];
  /** the catalog URL's path after http://127.0.0.1:<port> */
  urlPath: string;
}

export const SUPPORT_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The packages' console scripts live in the *-common packages (with dbconfig): their entry points instead. */
const manage = (python: string, module: string, confFile: string, ...args: string[]): string[] => [
  python, '-c', `import sys; from ${module} import main; sys.exit(main())`, '--config-file', confFile, ...args,
];

export const SPECS: Record<OpenStackServiceType, ServiceSpec> = {
  placement: {
    type: 'placement',
    name: 'placement',
    package: 'python3-placement',
    files: [{ template: 'placement.conf.template', target: 'placement.conf' }],
    log: 'placement.log',
    dbs: ['placement.db'],
    dbSync: (python, dir) => [manage(python, 'placement.cmd.manage', path.join(dir, 'placement.conf'), 'db', 'sync')],
    urlPath: '',
  },
  image: {
    type: 'image',
    name: 'glance',
    package: 'python3-glance',
    files: [
      { template: 'glance-api.conf.template', target: 'glance-api.conf' },
      { template: 'glance-api-paste.ini', target: 'glance-api-paste.ini' },
    ],
    log: 'glance-api.log',
    dbs: ['glance.db'],
    dbSync: (python, dir) => [manage(python, 'glance.cmd.manage', path.join(dir, 'glance-api.conf'), 'db_sync')],
    urlPath: '',
  },
  compute: {
    type: 'compute',
    name: 'nova',
    package: 'python3-nova',
    files: [
      { template: 'nova.conf.template', target: 'nova.conf' },
      { template: 'nova-api-paste.ini', target: 'api-paste.ini' },
    ],
    log: 'nova-api.log',
    // The API database, cell0 and one cell (cell1, no compute hosts): what nova-api reads.
    dbs: ['nova_api.db', 'nova_cell0.db', 'nova.db'],
    dbSync: (python, dir) => {
      const conf = path.join(dir, 'nova.conf');
      return [
        manage(python, 'nova.cmd.manage', conf, 'api_db', 'sync'),
        manage(python, 'nova.cmd.manage', conf, 'cell_v2', 'map_cell0', '--database_connection', `sqlite:///${dir}/nova_cell0.db?check_same_thread=false`),
        manage(python, 'nova.cmd.manage', conf, 'db', 'sync'),
        manage(python, 'nova.cmd.manage', conf, 'cell_v2', 'create_cell', '--name', 'cell1'),
      ];
    },
    urlPath: '/v2.1',
  },
};

export function python(): string {
  return process.env.KEYSTONE_PYTHON ?? '/usr/bin/python3';
}

/**
 * Fails loudly, naming the Debian packages, when they are not installed (never
 * a skip). Returns each package's installed version.
 */
export function assertOpenStackPackages(types: OpenStackServiceType[]): Map<string, string> {
  const wanted = [...new Set(types.map((t) => SPECS[t].package))];
  const res = spawnSync('dpkg-query', ['-W', '-f=${Package}|${Version}|${Status}\n', ...wanted], { encoding: 'utf8' });
  const installed = new Map<string, string>();
  for (const line of (res.stdout ?? '').split('\n')) {
    const [name, version, status] = line.split('|');
    if (name && version && status === 'install ok installed') installed.set(name, version);
  }
  const missing = wanted.filter((p) => !installed.has(p));
  if (missing.length > 0) {
    throw new Error(
      `OpenStack services fixture: Debian package(s) ${missing.join(', ')} not installed` +
        `${res.error ? ` (dpkg-query: ${res.error.message})` : ''}; ` +
        `install them with apt-get install --no-install-recommends ${missing.join(' ')} (see APT_PACKAGES in .ci/run)`,
    );
  }
  return installed;
}

const SCHEMA_CACHE = path.join(os.tmpdir(), 'vim-monitor-openstack-schemas');

/**
 * The service's database, migrated by its own db sync. The migrated empty
 * database is kept per package version (a few hundred KB) and copied for the
 * next fixture: each sync costs ~2-3 s of CPU, and test files start several
 * fixtures. OPENSTACK_FIXTURE_SCHEMA_CACHE=0 runs the sync every time.
 */
export async function migrateDatabase(spec: ServiceSpec, dir: string, version: string, timeoutMs: number): Promise<void> {
  const useCache = process.env.OPENSTACK_FIXTURE_SCHEMA_CACHE !== '0';
  const key = `${spec.name}-${version.replace(/[^A-Za-z0-9.+-]/g, '_')}`;
  const cached = (db: string): string => path.join(SCHEMA_CACHE, `${key}-${db}`);
  const logFile = path.join(dir, 'db-sync.log');
  if (useCache) {
    try {
      for (const db of spec.dbs) await copyFile(cached(db), path.join(dir, db));
      await writeFile(logFile, `copied ${spec.dbs.map(cached).join(', ')}\n`);
      return;
    } catch {
      // not cached yet
    }
  }
  for (const command of spec.dbSync(python(), dir)) {
    const sync = await run(command, timeoutMs);
    await writeFile(logFile, `$ ${command.join(' ')}\n${sync.output}\n`, { flag: 'a' });
    if (sync.code !== 0) throw new Error(`${spec.name} database sync failed (code ${sync.code}):\n${readTailOf(sync.output)}`);
  }
  if (!useCache) return;
  // Another test process may fill the cache at the same time: write aside, then rename.
  await mkdir(SCHEMA_CACHE, { recursive: true });
  for (const db of spec.dbs) {
    const aside = `${cached(db)}.${process.pid}.tmp`;
    await copyFile(path.join(dir, db), aside);
    await rename(aside, cached(db));
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

export async function readTail(file: string, lines: number): Promise<string> {
  try {
    const all = (await readFile(file, 'utf8')).split('\n');
    return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
  } catch {
    return '(no file)';
  }
}

function readTailOf(text: string, lines = 30): string {
  const all = text.split('\n');
  return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
}
