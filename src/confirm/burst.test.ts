/**
 * A burst: one worker's uplink fails and 2,000 of its VIMs reach their
 * down verdict in the same round. Three workers' confirmation parts (gate,
 * poller, prober, each worker with its own connection pool) on one real
 * PostgreSQL or MariaDB database; the probe is the scripted stand-in answering "up"
 * (what is tested is the batching through the database, not a driver; real
 * probes and processes: test/e2e/confirmation.e2e.test.ts). Every verdict
 * must be held by the other workers' answers before its deadline (none
 * decided alone), and no row may be left behind.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import { DEFAULT_MONITOR_SETTINGS } from '../monitors/settings.js';
import type { DownVerdict } from '../monitors/verdict-gate.js';
import { ConfirmationRepository } from '../store/confirmation-repository.js';
import { openStore, type Store } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { VimRepository } from '../store/vim-repository.js';
import { WorkerRepository } from '../store/worker-repository.js';
import { systemClock } from '../time/clock.js';
import type { VimRecord } from '../vims/model.js';
import { ConfirmationGate } from './confirmation-gate.js';
import { ConfirmationPoller } from './confirmation-poller.js';
import { ConfirmProber } from './confirm-prober.js';

const VIMS = 2_000;
/** The default settings' timeout (3 s) and deadline (max(2 × timeout, 3 s)). */
const SETTINGS = { ...DEFAULT_MONITOR_SETTINGS, probes: ['tcp' as const] };
const DEADLINE_MS = 6_000;

function vimRecord(i: number): VimRecord {
  return {
    id: randomUUID(),
    tenantId: 'admin',
    name: `burst-${i}`,
    description: '',
    type: 'openstack',
    authUrl: 'http://127.0.0.1:5000/v3',
    sealedAuthCred: { username: 'u', password: 'sealed' },
    vimProject: { name: 'p' },
    isDefault: false,
    extra: {},
    status: 'REACHABLE',
    placementAttr: { regions: [] },
    createdAt: '2026-01-01 00:00:00.000000',
    updatedAt: null,
    revision: 1,
    monitorSettings: null,
    conditions: [],
    health: null,
    capacity: null,
  };
}

describe.each(['postgres', 'mysql'] as const)('a burst of 2,000 down verdicts on one worker, confirmed through %s', (dialect) => {
  let database: TestDatabase;
  const stores: Store[] = [];
  const pollers: ConfirmationPoller[] = [];
  const gates = new Map<string, ConfirmationGate>();
  const vims: VimRecord[] = [];
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const setup = openStore(database.url, { poolSize: 10 });
    stores.push(setup);
    await migrateToLatest(setup);
    const repository = new VimRepository(setup);
    for (let i = 0; i < VIMS; i += 50) {
      const chunk = Array.from({ length: Math.min(50, VIMS - i) }, (_, k) => vimRecord(i + k));
      await Promise.all(chunk.map((vim) => repository.insert(vim)));
      vims.push(...chunk);
    }
    const workers = new WorkerRepository(setup);
    for (const [id, zone] of [['a', 'z1'], ['b', 'z2'], ['c', 'z3']] as const) {
      await workers.heartbeat(id, 0, Date.now() + 600_000, true);
      const store = openStore(database.url, { poolSize: 10 });
      stores.push(store);
      const confirmations = new ConfirmationRepository(store);
      let poller: ConfirmationPoller | undefined;
      const gate = new ConfirmationGate({
        self: id,
        zone,
        settings: { enabled: true, count: 2, quorum: 1, deadline: DEADLINE_MS / 1000, recheck: 30, poll_interval: 0.5 },
        defaultTimeoutSeconds: SETTINGS.timeout,
        clock: systemClock,
        logger,
        onAsk: () => poller?.wake(),
      });
      const prober = new ConfirmProber({
        probes: new Map([['tcp', new ScriptedProbe('tcp', 'ok')]]),
        loadVims: (ids) => new VimRepository(store).list({ ids }),
        credentialsOf: () => ({ username: 'u', password: 'p' }),
        settingsOf: () => SETTINGS,
        owns: () => false,
        answer: (answers, atMs) => confirmations.answerMany(answers, atMs),
        clock: systemClock,
        logger,
      });
      poller = new ConfirmationPoller(
        { self: id, zone, pollIntervalMs: 500, liveWindowMs: 600_000, liveRefreshMs: 60_000, maxAgeMs: 600_000, batch: 1_000 },
        { repository: confirmations, gate, prober, clock: systemClock, logger },
      );
      await poller.start();
      pollers.push(poller);
      gates.set(id, gate);
    }
    for (const poller of pollers) await poller.refreshNow();
  }, 120_000);

  afterAll(async () => {
    for (const poller of pollers) await poller.stop();
    for (const store of stores) await store.close();
    await database?.drop();
  });

  it('holds every verdict on the others\' answers within the deadline, decides none alone, and leaves no row', async () => {
    const gate = gates.get('a')!;
    const verdict = (vim: VimRecord): DownVerdict => ({
      vimId: vim.id,
      monitorId: 'm',
      tenantId: 'admin',
      target: { vimId: vim.id, type: 'openstack', authUrl: vim.authUrl, host: '127.0.0.1', port: 5000, tls: { verify: true }, credentials: {}, project: vim.vimProject },
      from: 'REACHABLE',
      reason: 'failed: tcp: no route to host',
      atMs: Date.now(),
      settings: SETTINGS,
      failedProbes: ['tcp'],
    });
    const startedAt = Date.now();
    // The first review of each: all ask at once, as one round of 2,000 monitors would.
    for (const vim of vims) expect(gate.review(verdict(vim)).verdict).toBe('hold');
    let answeredAt: number | undefined;
    // Then a round every 250 ms until every verdict is decided.
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const decisions = vims.map((vim) => gate.review(verdict(vim)));
      expect(decisions.filter((d) => d.verdict === 'apply')).toEqual([]);
      if (decisions.every((d) => d.verdict === 'hold' && d.reason.startsWith('not confirmed'))) {
        answeredAt = Date.now();
        break;
      }
      expect(Date.now() - startedAt).toBeLessThan(DEADLINE_MS);
    }
    const tookMs = answeredAt - startedAt;
    console.log(`${dialect}: ${VIMS} verdicts asked of 2 workers each (${2 * VIMS} rows), every one answered and decided in ${tookMs} ms`);
    expect(gate.stats()).toMatchObject({ asks: VIMS, refuted: VIMS, decided_alone_no_answer: 0, decided_alone_no_worker: 0 });
    const repository = new ConfirmationRepository(stores[0]!);
    await expect.poll(() => repository.count(), { timeout: 5_000 }).toBe(0);
  }, 60_000);
});
