import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The built store, in a fresh process: this test process has loaded pg and mysql2 for other tests already.
const DATABASE_MODULE = join(process.cwd(), 'dist', 'store', 'database.js');
const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Opens `url` in a fresh node process (without connecting) and lists the client libraries it loaded. */
function librariesLoadedOpening(url: string): string[] {
  if (!existsSync(DATABASE_MODULE)) throw new Error(`${DATABASE_MODULE} is missing: run npm run build (npm test does) before this test`);
  const script = `
    import { createRequire } from 'node:module';
    const { openStore } = await import(${JSON.stringify(DATABASE_MODULE)});
    const store = openStore(${JSON.stringify(url)}, { poolSize: 1 });
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const loaded = ['pg', 'mysql2', 'better-sqlite3'].filter((name) => cache.some((path) => path.includes('/node_modules/' + name + '/')));
    await store.db.destroy();
    process.stdout.write(JSON.stringify(loaded));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as string[];
}

describe('database client libraries', () => {
  it('are not loaded by a service on SQLite', () => {
    expect(librariesLoadedOpening(`sqlite://${join(dir, 'store.db')}`)).toEqual(['better-sqlite3']);
  });

  it('are loaded when a URL of their kind is opened', () => {
    // Pools connect on first query: opening touches no server.
    expect(librariesLoadedOpening('postgres://nobody@127.0.0.1:1/none')).toContain('pg');
    expect(librariesLoadedOpening('mysql://nobody@127.0.0.1:1/none')).toContain('mysql2');
  });
});
