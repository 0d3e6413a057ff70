import pg from 'pg';
import { processAlive } from '../test/support/netns-kit.js';

/** One short-lived connection to the PostgreSQL server for creating and dropping a phase's own database. */
export async function admin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}


/**
 * Databases named `<prefix><pid>_<hex>` whose benchmark process is gone
 * (killed before its own clean-up): dropped, so runs do not pile them up.
 */
export async function dropStaleDatabases(adminUrl: string, prefix: string, log: (line: string) => void): Promise<void> {
  const { rows } = await admin(adminUrl, (c) => c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]));
  const named = new RegExp(`^${prefix}(\\d+)_[0-9a-f]+$`);
  for (const { datname } of rows) {
    const pid = Number(named.exec(datname)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`)).then(
      () => log(`    dropped ${datname}, left by a benchmark that is gone`),
      () => undefined,
    );
  }
}
