/**
 * Registering the scale phase's VIMs. Through the API, one POST each, the
 * service takes about 140 VIMs a second here whatever the concurrency:
 * every registration moves the one-row VIM change counter in its
 * transaction, so registrations commit one after the other, each waiting
 * for its WAL flush. 100,000 would take about 12 minutes before anything is
 * measured. So above a size (option), the VIMs are copied instead: the first
 * is registered through the API, so the service validates, normalises and
 * seals it, and its row is copied in the database with only id, name and
 * auth_url changed, in chunks, with each copy's free monitor row, and the
 * change counter moved once, as the service would. The workers claim them
 * as they claim API-registered ones. (Without the monitor rows, every
 * worker's sweep inserts each missing row with a statement of its own,
 * and with 10 workers and 10,000 new VIMs at once they queue on each
 * other's unique keys: nothing was claimed after 3 minutes here.) What the copy skips is the API's own cost, which
 * this phase does not measure (its rate is measured at the API sizes).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pool } from './util.js';
import type { VimMonitorApi } from './vim-monitor.js';

export type RegisterMode = 'api' | 'copy';

const nameOf = (i: number) => `scale-${String(i).padStart(6, '0')}`;
const urlOf = (address: string) => `http://${address}:5000/v3`;

export async function registerThroughApi(api: VimMonitorApi, addresses: string[], concurrency: number, onProgress: (done: number) => void): Promise<void> {
  let done = 0;
  await pool(addresses, concurrency, async (address, i) => {
    await api.createVim({ name: nameOf(i), authUrl: urlOf(address) });
    done += 1;
    if (done % 1000 === 0) onProgress(done);
  });
}

export async function registerByCopy(api: VimMonitorApi, databaseUrl: string, addresses: string[], onProgress: (done: number) => void): Promise<void> {
  const [first, ...rest] = addresses;
  if (first === undefined) return;
  const template = await api.createVim({ name: nameOf(0), authUrl: urlOf(first) });
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'vims' AND column_name NOT IN ('id', 'name', 'auth_url')",
    );
    const copied = rows.map((r) => `"${r.column_name}"`);
    const chunk = 5000;
    for (let start = 0; start < rest.length; start += chunk) {
      const slice = rest.slice(start, start + chunk);
      const ids = slice.map(() => randomUUID());
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO vims (id, name, auth_url, ${copied.join(', ')})
         SELECT u.id, u.name, u.auth_url, ${copied.map((c) => `t.${c}`).join(', ')}
           FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, name, auth_url)
          CROSS JOIN (SELECT * FROM vims WHERE id = $4) AS t`,
        [ids, slice.map((_, j) => nameOf(start + j + 1)), slice.map(urlOf), template],
      );
      // Each VIM's free monitor row, as a worker's sweep would make it (owner '': free to claim).
      // Made here in bulk, because 10 workers each inserting 100,000 missing rows one by one collide on every key.
      await client.query(
        `INSERT INTO vim_monitors (vim_id, monitor_id, owner, dispatched_at, lease_until_ms)
         SELECT u.id, u.monitor_id, '', $3, 0 FROM unnest($1::text[], $2::text[]) AS u(id, monitor_id)
         ON CONFLICT DO NOTHING`,
        [ids, ids.map(() => randomUUID()), new Date().toISOString().replace('T', ' ').replace('Z', '000')],
      );
      await client.query('COMMIT');
      onProgress(start + slice.length + 1);
    }
    await client.query('UPDATE vim_change_counter SET changes = changes + 1 WHERE id = 1');
    // What autovacuum would do after a bulk load: plans for the new size.
    await client.query('ANALYZE');
  } finally {
    await client.end().catch(() => undefined);
  }
}
