import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { openStore } from '../database.js';

const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cacheSizeOf(file: string, sqliteCacheMb?: number): Promise<number> {
  const store = openStore(`sqlite:${join(dir, file)}`, sqliteCacheMb === undefined ? {} : { sqliteCacheMb });
  try {
    const { rows } = await sql<{ cache_size: number }>`PRAGMA cache_size`.execute(store.db);
    return rows[0]!.cache_size;
  } finally {
    await store.close();
  }
}

describe('the SQLite connection', () => {
  it("keeps SQLite's own 2 MiB page cache by default, not better-sqlite3's 16", async () => {
    expect(loadConfig({ env: {} }).database.sqlite_cache_mb).toBe(2);
    // Negative: KiB.
    expect(await cacheSizeOf('default.db')).toBe(-2048);
  });

  it('takes the page cache size database.sqlite_cache_mb gives', async () => {
    expect(await cacheSizeOf('bigger.db', 64)).toBe(-64 * 1024);
  });
});
