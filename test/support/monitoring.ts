import { randomBytes } from 'node:crypto';
import type { HealthSettings } from '../../src/health/deep-check.js';
import type { VerdictGate } from '../../src/monitors/verdict-gate.js';
import type { DeepChecks } from '../../src/health/deep-checks.js';
import { DEFAULT_HEALTH_SETTINGS } from '../../src/health/settings.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/logger.js';
import type { MetricsRecorder } from '../../src/metrics/recorder.js';
import { MonitorManager } from '../../src/monitors/manager.js';
import { DEFAULT_MONITOR_SETTINGS, type MonitorSettings } from '../../src/monitors/settings.js';
import { MonitorWriteQueue } from '../../src/monitors/write-queue.js';
import type { Probe, ProbeName } from '../../src/probes/probe.js';
import { SecretCipher } from '../../src/secrets/cipher.js';
import { openStore, type Store } from '../../src/store/database.js';
import { EventRepository } from '../../src/store/event-repository.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { LeaseRepository } from '../../src/store/lease-repository.js';
import { MonitorRepository } from '../../src/store/monitor-repository.js';
import { WorkerRepository } from '../../src/store/worker-repository.js';
import { VimRepository } from '../../src/store/vim-repository.js';
import { systemClock } from '../../src/time/clock.js';
import type { RequestContext } from '../../src/vims/model.js';
import { VimRegistry } from '../../src/vims/registry.js';

export const ADMIN: RequestContext = { projectId: 'admin', isAdmin: true };

export interface MonitoringHarness {
  store: Store;
  registry: VimRegistry;
  manager: MonitorManager;
  writes: MonitorWriteQueue;
  events: EventRepository;
  monitors: MonitorRepository;
  logText(): string;
  /** Stops the manager and closes the store (keeps the database). */
  stop(): Promise<void>;
}

export interface HarnessOptions {
  databaseUrl?: string;
  key?: Buffer;
  probes: Probe[];
  settings?: Partial<MonitorSettings>;
  sweepIntervalSeconds?: number;
  stallGraceSeconds?: number;
  failoverThreshold?: number;
  leaseTtlSeconds?: number;
  heartbeatIntervalSeconds?: number;
  owner?: string;
  /** Wraps the migrated store before anything uses it (e.g. with a Kysely plugin that logs statements). */
  wrapStore?: (store: Store) => Store;
  /** Where the manager and the write queue report (e.g. a real PrometheusMetrics). */
  metrics?: MetricsRecorder;
  /** Deep checks for every VIM (none by default), with these global health settings. */
  deepChecks?: DeepChecks;
  /** Reviews down verdicts (issue 11's isolation guard and confirmation); none by default. */
  gate?: VerdictGate;
  health?: Partial<HealthSettings>;
}

/** The registry, the manager and its write queue on a real store, in this process, with the given probe drivers. */
export async function startMonitoring(options: HarnessOptions): Promise<MonitoringHarness> {
  const lines: string[] = [];
  const logger = createLogger(
    { level: 'debug', format: 'json' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  const opened = openStore(options.databaseUrl ?? 'sqlite::memory:', { poolSize: 4 });
  await migrateToLatest(opened);
  const store = options.wrapStore?.(opened) ?? opened;
  const vims = new VimRepository(store);
  const monitors = new MonitorRepository(store);
  const defaults: MonitorSettings = { ...DEFAULT_MONITOR_SETTINGS, probes: options.probes.map((p) => p.name), ...options.settings };
  const registry = new VimRegistry({ repository: vims, cipher: new SecretCipher(options.key ?? randomBytes(32)), clock: systemClock, monitorDefaults: defaults });
  const writes = new MonitorWriteQueue(monitors, logger, { ...(options.metrics && { metrics: options.metrics }) });
  const manager = new MonitorManager(
    {
      defaults,
      ...(options.health && { healthDefaults: { ...DEFAULT_HEALTH_SETTINGS, ...options.health } }),
      jitter: 0,
      sweepIntervalSeconds: options.sweepIntervalSeconds ?? 0.2,
      stallGraceSeconds: options.stallGraceSeconds ?? 0.2,
      ...(options.failoverThreshold !== undefined && { failoverThreshold: options.failoverThreshold }),
      owner: options.owner ?? 'test-worker',
      roundTickMs: 0,
      leaseTtlSeconds: options.leaseTtlSeconds ?? 2,
      heartbeatIntervalSeconds: options.heartbeatIntervalSeconds ?? 0.5,
      sharedDatabase: store.driver.shared,
      servesApi: false,
    },
    {
      vims,
      monitors,
      leases: new LeaseRepository(store),
      workers: new WorkerRepository(store),
      writes,
      probes: new Map<ProbeName, Probe>(options.probes.map((probe) => [probe.name, probe])),
      credentialsOf: (vim) => registry.credentialsOf(vim),
      clock: systemClock,
      random: Math.random,
      logger,
      ...(options.metrics && { metrics: options.metrics }),
      ...(options.deepChecks && { deepChecks: options.deepChecks }),
      ...(options.gate && { gate: options.gate }),
    },
  );
  registry.setLifecycleListener(manager);
  await manager.start();
  return {
    store,
    registry,
    manager,
    writes,
    events: new EventRepository(store),
    monitors,
    logText: () => lines.join(''),
    stop: async () => {
      await manager.stop();
      await writes.drain(5_000);
      await writes.close();
      await opened.close();
    },
  };
}

/** A temporary SQLite file, for tests that restart the monitoring on the same database. */
export function sqliteFile(): { url: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-mon-'));
  return { url: `sqlite:${join(dir, 'm.db')}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
