import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { ConfirmationRepository } from './confirmation-repository.js';
import { openStore, type Store } from './database.js';
import { migrateToLatest } from './migrate.js';
import { WorkerRepository } from './worker-repository.js';

const NOW = 1_000_000;

describe.each(DIALECTS)('confirmation requests on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let repository: ConfirmationRepository;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 4 });
    await migrateToLatest(store);
    repository = new ConfirmationRepository(store);
  });

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  beforeEach(async () => {
    await store.db.deleteFrom('vim_confirmations').execute();
    await store.db.deleteFrom('workers').execute();
  });

  it('records a zone on the heartbeat row and reads live workers with their zones', async () => {
    const workers = new WorkerRepository(store);
    await workers.heartbeat('w1', 0, NOW, true);
    await workers.heartbeat('w2', 0, NOW - 10_000, true);
    expect(await repository.setZone('w1', 'rack-a')).toBe(true);
    expect(await repository.setZone('nobody', 'x')).toBe(false);
    // The manager's heartbeat leaves the zone alone.
    await workers.heartbeat('w1', 0, NOW + 1, true);
    expect(await repository.liveWorkers(NOW - 5_000)).toEqual([{ id: 'w1', zone: 'rack-a' }]);
    expect(await repository.liveWorkers(0)).toEqual([{ id: 'w1', zone: 'rack-a' }, { id: 'w2', zone: null }]);
  });

  it('gives each worker what it was asked and, while it waits, the answers to its own requests, in one query', async () => {
    const asks = Array.from({ length: 450 }, (_, i) => ({ id: `r${i}`, vimId: `vim-${i}`, worker: i % 2 === 0 ? 'w2' : 'w3', deadlineMs: NOW + 3_000 }));
    await repository.ask('w1', NOW, asks);
    expect(await repository.count()).toBe(450);

    const forW2 = await repository.poll('w2', NOW, false, 1_000);
    expect(forW2.asked).toHaveLength(225);
    expect(forW2.asked.every((row) => row.worker === 'w2' && row.requester === 'w1')).toBe(true);
    expect(forW2.answered).toEqual([]);
    expect((await repository.poll('w2', NOW, false, 10)).asked).toHaveLength(10);

    await repository.answer('r0', true, 'failed: tcp: connection refused', NOW + 100);
    await repository.answer('r1', false, 'all probes succeeded: tcp: connected', NOW + 100);
    // Answered once: a late second answer does not overwrite it.
    await repository.answer('r0', false, 'late', NOW + 200);
    expect((await repository.poll('w2', NOW, false, 1_000)).asked).toHaveLength(224);

    const forW1 = await repository.poll('w1', NOW, true, 1_000);
    expect(forW1.asked).toEqual([]);
    expect(forW1.answered.map((row) => [row.id, row.answer?.down, row.answer?.reason]).sort()).toEqual([
      ['r0', true, 'failed: tcp: connection refused'],
      ['r1', false, 'all probes succeeded: tcp: connected'],
    ]);
    expect((await repository.poll('w1', NOW, false, 1_000)).answered).toEqual([]);
  });

  it('skips requests past their deadline, and deletes finished and stale rows', async () => {
    await repository.ask('w1', NOW - 120_000, [{ id: 'old', vimId: 'v', worker: 'w2', deadlineMs: NOW - 117_000 }]);
    await repository.ask('w1', NOW, [
      { id: 'a', vimId: 'v', worker: 'w2', deadlineMs: NOW + 3_000 },
      { id: 'b', vimId: 'v', worker: 'w2', deadlineMs: NOW + 3_000 },
    ]);
    expect((await repository.poll('w2', NOW, false, 100)).asked.map((row) => row.id).sort()).toEqual(['a', 'b']);
    expect(await repository.removeOlderThan(NOW - 60_000)).toBe(1);
    await repository.remove(['a']);
    expect((await repository.poll('w2', NOW, false, 100)).asked.map((row) => row.id)).toEqual(['b']);
    await repository.answer('a', true, 'gone already', NOW);
    expect(await repository.count()).toBe(1);
  });
});
