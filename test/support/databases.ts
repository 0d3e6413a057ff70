import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';

export const DIALECTS = ['sqlite', 'postgres', 'mysql'] as const;
export type TestDialect = (typeof DIALECTS)[number];

/** Admin connections used to create throw-away databases; override to point elsewhere. */
export const POSTGRES_ADMIN_URL = process.env.VIM_MONITOR_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const MYSQL_ADMIN_URL = process.env.VIM_MONITOR_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';

const HOW_TO_START: Record<Exclude<TestDialect, 'sqlite'>, string> = {
  postgres:
    "start PostgreSQL ('pg_ctlcluster --skip-systemctl-redirect 15 main start', or run 'bash .ci/run' once) or set VIM_MONITOR_TEST_POSTGRES_URL",
  mysql:
    "start MariaDB ('start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd', or run 'bash .ci/run' once) or set VIM_MONITOR_TEST_MYSQL_URL",
};

export interface TestDatabase {
  dialect: TestDialect;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database of the given dialect for one test file. Real
 * servers only: when one is not running the test fails with a message that
 * says how to start it (never a silent skip).
 */
export async function createTestDatabase(dialect: TestDialect): Promise<TestDatabase> {
  const name = `vm_test_${randomBytes(6).toString('hex')}`;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-test-'));
    return { dialect, url: `sqlite:${join(dir, 'test.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (dialect === 'postgres') {
    await withPostgres(async (client) => client.query(`CREATE DATABASE ${name}`));
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${name}`;
    return {
      dialect,
      url: url.toString(),
      drop: async () => {
        await withPostgres(async (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      },
    };
  }
  await withMysql(async (connection) => connection.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`));
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = `/${name}`;
  return { dialect, url: url.toString(), drop: async () => {
      await withMysql(async (connection) => connection.query(`DROP DATABASE IF EXISTS ${name}`));
    },
  };
}

async function withPostgres<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${POSTGRES_ADMIN_URL} (${(error as Error).message}): ${HOW_TO_START.postgres}`);
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function withMysql<T>(work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 5000 });
  } catch (error) {
    throw new Error(`MariaDB/MySQL is not reachable at ${MYSQL_ADMIN_URL} (${(error as Error).message}): ${HOW_TO_START.mysql}`);
  }
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

/**
 * Stops and starts the machine's real PostgreSQL cluster, for the outage
 * tests (root only, as in .ci/run). Suites run one file at a time, so no
 * other test is using it meanwhile.
 */
export async function setPostgresRunning(running: boolean): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const { readdirSync } = await import('node:fs');
  const version = readdirSync('/etc/postgresql').sort((a, b) => Number(a) - Number(b)).at(-1);
  if (!version) throw new Error('no PostgreSQL cluster under /etc/postgresql');
  const isReady = (): boolean => {
    try {
      execFileSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']);
      return true;
    } catch {
      return false;
    }
  };
  if (isReady() === running) return;
  const args = ['--skip-systemctl-redirect', version, 'main', running ? 'start' : 'stop', ...(running ? [] : ['-m', 'fast'])];
  execFileSync('pg_ctlcluster', args, { stdio: 'pipe' });
  if (running) {
    for (let attempt = 0; attempt < 60; attempt++) {
      if (isReady()) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error('PostgreSQL did not become ready after start');
  }
}
