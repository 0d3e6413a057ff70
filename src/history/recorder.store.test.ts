/**
 * The history recorder on real databases: what a flush writes is the day
 * the history repository reads back; a new owner (a restart, a takeover)
 * carries on the stored day; a day fenced off by another monitor is not
 * written; and on PostgreSQL behind a cut connection, a database outage
 * keeps the data until the database is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { capturedLogger } from '../../test/support/log-capture.js';
import { vimRecord } from '../../test/support/probe-target.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { openStore, type Store } from '../store/database.js';
import { HistoryRepository } from '../store/history-repository.js';
import { migrateToLatest } from '../store/migrate.js';
import { MonitorRepository } from '../store/monitor-repository.js';
import { VimRepository } from '../store/vim-repository.js';
import type { VimStatus } from '../vims/model.js';
import { DAY_MS, HOUR_MS } from './model.js';
import { HistoryRecorder, type VimHistory } from './recorder.js';

const AT = '2026-12-01 10:00:00.000000';
const DAY = 20_500;
const T0 = DAY * DAY_MS + 9 * HOUR_MS;
const TIMING = { interval: 10, timeout: 3 };
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function recorderOn(store: Store, start: number) {
  let nowMs = start;
  const log = capturedLogger();
  const recorder = new HistoryRecorder(
    { flushIntervalMs: 60_000, hourEndGraceMs: 13_000 },
    { store: new HistoryRepository(store), clock: { now: () => new Date(nowMs) }, logger: log.logger },
  );
  /** Rounds every 10 s from `fromMs` to `toMs` (both included), the VIM holding `held`. */
  const rounds = (handle: VimHistory, fromMs: number, toMs: number, held: VimStatus) => {
    for (let at = fromMs; at <= toMs; at += 10_000) {
      nowMs = at;
      handle.checked('icmp', held !== 'UNREACHABLE', 2, at);
      handle.roundEnded(held, at, TIMING, false);
    }
  };
  return { recorder, rounds, log };
}

async function seed(store: Store, vims: number[]): Promise<MonitorRepository> {
  const vimRepository = new VimRepository(store);
  const monitors = new MonitorRepository(store);
  for (const n of vims) {
    await vimRepository.insert({ ...vimRecord('openstack', 'http://127.0.0.1:5000/v3'), id: id(n), name: `vim-${n}` });
    await monitors.assign(id(n), `monitor-${n}-a`, 'worker-a', AT, false);
  }
  return monitors;
}

describe.each(DIALECTS)('status history recorder on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let monitors: MonitorRepository;
  let history: HistoryRepository;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url, { poolSize: 2 });
    await migrateToLatest(store);
    monitors = await seed(store, [1, 2, 3]);
    history = new HistoryRepository(store);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('writes the day on flush, hours and totals as observed', async () => {
    const { recorder, rounds } = recorderOn(store, T0);
    const vim = recorder.track(id(1), 'monitor-1-a', 'tenant');
    rounds(vim, T0, T0 + 60_000, 'REACHABLE');
    rounds(vim, T0 + 70_000, T0 + 100_000, 'UNREACHABLE');
    await recorder.flush();
    const [day] = await history.read([id(1)], DAY, DAY);
    expect(day).toMatchObject({ vimId: id(1), day: DAY, reachableMs: 60_000, unreachableMs: 40_000, pendingMs: 0 });
    expect(day?.hours?.[9]?.probes.icmp).toMatchObject({ checks: 11, failed: 4, max: 2 });
    expect(day?.hours?.filter((hour) => hour !== null)).toHaveLength(1);
  });

  it("continues the stored day after a takeover without losing the previous owner's hours", async () => {
    const before = recorderOn(store, T0);
    const old = before.recorder.track(id(2), 'monitor-2-a', 'tenant');
    before.rounds(old, T0, T0 + HOUR_MS, 'REACHABLE'); // 09:00 to 10:00
    await before.recorder.close();

    await monitors.assign(id(2), 'monitor-2-b', 'worker-b', AT, false);
    const after = recorderOn(store, T0 + HOUR_MS + 5 * 60_000);
    const taken = after.recorder.track(id(2), 'monitor-2-b', 'tenant');
    after.rounds(taken, T0 + HOUR_MS + 5 * 60_000, T0 + HOUR_MS + 10 * 60_000, 'UNREACHABLE'); // 10:05 to 10:10
    await after.recorder.flush();
    after.rounds(taken, T0 + HOUR_MS + 10 * 60_000 + 10_000, T0 + HOUR_MS + 20 * 60_000, 'REACHABLE');
    await after.recorder.close();

    const [day] = await history.read([id(2)], DAY, DAY);
    expect(day?.hours?.[9]).toMatchObject({ reachableMs: HOUR_MS });
    // 10:00-10:05 nobody watched (unknown); 10:05-10:10 down; 10:10-10:20 up.
    expect(day?.hours?.[10]).toMatchObject({ reachableMs: 10 * 60_000, unreachableMs: 5 * 60_000 });
    expect(day).toMatchObject({ reachableMs: HOUR_MS + 10 * 60_000, unreachableMs: 5 * 60_000 });
    expect(day?.probes.icmp?.checks).toBe(361 + 31 + 60);
  });

  it('does not write a day fenced off by another monitor, and drops it', async () => {
    await monitors.assign(id(3), 'monitor-3-elsewhere', 'worker-b', AT, false);
    const { recorder, rounds, log } = recorderOn(store, T0);
    const stale = recorder.track(id(3), 'monitor-3-a', 'tenant');
    rounds(stale, T0, T0 + 30_000, 'REACHABLE');
    await recorder.flush();
    expect(await history.read([id(3)], DAY, DAY)).toEqual([]);
    expect(recorder.stats().vims).toBe(0);
    expect(log.matching('taken over by another monitor')).toHaveLength(1);
  });
});

describe('status history recorder through a PostgreSQL outage', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let direct: Store;
  let proxied: Store;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    direct = openStore(database.url, { poolSize: 2 });
    await migrateToLatest(direct);
    await seed(direct, [1]);
    const target = new URL(database.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    target.port = String(await proxy.start());
    proxied = openStore(target.toString(), { poolSize: 2 });
  });
  afterAll(async () => {
    await proxied?.close().catch(() => undefined);
    await direct?.close();
    await proxy?.cut();
    await database?.drop();
  });

  it('keeps the data while the database is unreachable, warns once, and writes it when it is back', async () => {
    const { recorder, rounds, log } = recorderOn(proxied, T0);
    const vim = recorder.track(id(1), 'monitor-1-a', 'tenant');
    rounds(vim, T0, T0 + 60_000, 'REACHABLE');
    await recorder.flush();
    await proxy.cut();
    rounds(vim, T0 + 70_000, T0 + 120_000, 'UNREACHABLE');
    await recorder.flush();
    rounds(vim, T0 + 130_000, T0 + 180_000, 'REACHABLE');
    await recorder.flush();
    expect(log.matching('database unavailable')).toHaveLength(1);
    const history = new HistoryRepository(direct);
    expect((await history.read([id(1)], DAY, DAY))[0]).toMatchObject({ reachableMs: 60_000, unreachableMs: 0 });

    await proxy.restore();
    // The pool may hand out a connection that broke during the outage before noticing: the next flush tries again.
    for (let attempt = 0; attempt < 20; attempt++) {
      await recorder.flush();
      if ((await history.read([id(1)], DAY, DAY))[0]?.reachableMs === 120_000) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect((await history.read([id(1)], DAY, DAY))[0]).toMatchObject({ reachableMs: 120_000, unreachableMs: 60_000 });
    expect(log.matching('available again')).toHaveLength(1);
  });
});
