/**
 * Dashboard sessions as stored (migration 0010's ui_sessions), on every
 * dialect: found by id hash only while not expired, deleted one by one and
 * pruned in bounded batches.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { openStore, type Store } from './database.js';
import { migrateToLatest } from './migrate.js';
import { SessionRepository, type StoredSession } from './session-repository.js';

const NOW = 1_764_583_200_000;
const HOUR = 3_600_000;

function session(n: number, expiresAtMs: number): StoredSession {
  return {
    idHash: n.toString(16).padStart(64, '0'),
    csrfToken: `csrf-${n}`.padEnd(43, 'x'),
    sealedToken: `enc:v2:0123456789abcdef:sealed-${n}`,
    userId: `user-${n}`,
    userName: 'alice',
    projectId: '0123456789abcdef0123456789abcdef',
    projectName: 'nfv',
    roles: ['member', 'reader'],
    createdAtMs: NOW - HOUR,
    expiresAtMs,
  };
}

describe.each(DIALECTS)('dashboard sessions, on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let sessions: SessionRepository;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 2 });
    await migrateToLatest(store);
    sessions = new SessionRepository(store);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await store.db.deleteFrom('ui_sessions').execute();
  });

  it('finds a created session by its id hash, as it was stored', async () => {
    await sessions.create(session(1, NOW + 8 * HOUR));
    expect(await sessions.find(session(1, 0).idHash, NOW)).toEqual(session(1, NOW + 8 * HOUR));
    expect(await sessions.find(session(2, 0).idHash, NOW)).toBeUndefined();
  });

  it('does not find a session once it has expired, though its row is still there', async () => {
    await sessions.create(session(1, NOW + HOUR));
    expect(await sessions.find(session(1, 0).idHash, NOW + HOUR - 1)).toBeDefined();
    expect(await sessions.find(session(1, 0).idHash, NOW + HOUR)).toBeUndefined();
    expect(await store.db.selectFrom('ui_sessions').select('id_hash').execute()).toHaveLength(1);
  });

  it('deletes one session and says whether there was one', async () => {
    await sessions.create(session(1, NOW + HOUR));
    await sessions.create(session(2, NOW + HOUR));
    expect(await sessions.delete(session(1, 0).idHash)).toBe(true);
    expect(await sessions.delete(session(1, 0).idHash)).toBe(false);
    expect(await sessions.find(session(1, 0).idHash, NOW)).toBeUndefined();
    expect(await sessions.find(session(2, 0).idHash, NOW)).toBeDefined();
  });

  it('prunes expired sessions oldest first, at most a batch a call, and never a live one', async () => {
    for (let n = 1; n <= 5; n++) await sessions.create(session(n, NOW - n * HOUR));
    await sessions.create(session(9, NOW + HOUR));
    expect(await sessions.deleteExpired(NOW, 2)).toBe(2);
    const left = await store.db.selectFrom('ui_sessions').select('user_id').orderBy('user_id').execute();
    expect(left.map((row) => row.user_id)).toEqual(['user-1', 'user-2', 'user-3', 'user-9']);
    expect(await sessions.deleteExpired(NOW, 100)).toBe(3);
    expect(await sessions.deleteExpired(NOW, 100)).toBe(0);
    expect(await sessions.find(session(9, 0).idHash, NOW)).toBeDefined();
  });

  it('stores the bounds of a Keystone session: long names, expiry far in the future', async () => {
    const long = { ...session(3, 8_640_000_000_000_000), userName: 'u'.repeat(255), projectName: 'p'.repeat(255) };
    await sessions.create(long);
    expect(await sessions.find(long.idHash, NOW)).toEqual(long);
  });
});
