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

export type OpenStackServiceType = 'placement' | 'image';

export const OPENSTACK_PACKAGES = ['python3-placement', 'python3-glance'] as const;

export interface ServiceSpec {
  type: OpenStackServiceType;
  /** catalog name, service user and runner --app */
  name: 'placement' | 'glance';
  app: 'placement' | 'glance';
  package: (typeof OPENSTACK_PACKAGES)[number];
  files: Array<{ template: string; target: string }>;
  db: string;
  dbSync: (python: string, dir: string) => string[];
}

export const SUPPORT_DIR = path.dirname(fileURLToPath(import.meta.url));

export const SPECS: Record<OpenStackServiceType, ServiceSpec> = {
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
  const cached = path.join(SCHEMA_CACHE, `${spec.name}-${version.replace(/[^A-Za-z0-9.+-]/g, '_')}.db`);
  const target = path.join(dir, spec.db);
  if (useCache) {
    try {
      await copyFile(cached, target);
      await writeFile(path.join(dir, 'db-sync.log'), `copied ${cached}\n`);
      return;
    } catch {
      // not cached yet
    }
  }
  const sync = await run(spec.dbSync(python(), dir), timeoutMs);
  await writeFile(path.join(dir, 'db-sync.log'), sync.output);
  if (sync.code !== 0) throw new Error(`${spec.name} database sync failed (code ${sync.code}):\n${readTailOf(sync.output)}`);
  if (!useCache) return;
  // Another test process may fill the cache at the same time: write aside, then rename.
  await mkdir(SCHEMA_CACHE, { recursive: true });
  const aside = `${cached}.${process.pid}.tmp`;
  await copyFile(target, aside);
  await rename(aside, cached);
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
