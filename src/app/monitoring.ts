import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { DeepChecks } from '../health/deep-checks.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import { MonitorManager } from '../monitors/manager.js';
import { MonitorWriteQueue } from '../monitors/write-queue.js';
import { createProbes } from '../probes/index.js';
import { createScriptedProbes } from '../probes/scripted.js';
import { checkIcmpTool } from '../probes/system-pinger.js';
import type { Probe, ProbeName } from '../probes/probe.js';
import { probeTargetGuard } from '../probes/target-policy.js';
import type { Store } from '../store/database.js';
import { LeaseRepository } from '../store/lease-repository.js';
import { MonitorRepository } from '../store/monitor-repository.js';
import { VimRepository } from '../store/vim-repository.js';
import { WorkerRepository } from '../store/worker-repository.js';
import type { Registry } from 'prom-client';
import type { Clock } from '../time/clock.js';
import { startConfirmation, type RunningConfirmation } from './confirmation.js';
import type { BrokerWatch } from '../guard/broker-watch.js';
import type { IsolationGuard } from '../guard/isolation-guard.js';
import { createIsolationGuard } from '../guard/start-guard.js';
import { combineGates } from '../monitors/combined-gate.js';
import type { VimRegistry } from '../vims/registry.js';
import type { MaintenanceCalendar } from '../maintenance/calendar.js';
import { FlapDamper } from '../maintenance/flap-damper.js';
import { NotificationHold } from '../maintenance/notification-hold.js';
import { HoldRepository } from '../store/hold-repository.js';
import { HistoryRecorder } from '../history/recorder.js';
import { HistoryRepository } from '../store/history-repository.js';

export interface RunningMonitoring {
  manager: MonitorManager;
  /** This worker's isolation guard (guard.enabled), the manager's verdict gate. */
  guard: IsolationGuard | undefined;
  writes: MonitorWriteQueue;
  /** Holds notifications of VIMs in maintenance or flapping, and stores the catch-ups (issue 11). */
  hold: NotificationHold;
  /** Confirmation of down verdicts by other workers; absent on a database only this process can open (SQLite). */
  confirmation: RunningConfirmation | undefined;
  /** Writes this worker's status history (issue 12); started and closed by the manager. */
  history: HistoryRecorder;
  close(): Promise<void>;
}

export interface MonitoringDeps {
  store: Store;
  registry: VimRegistry;
  logger: Logger;
  clock: Clock;
  owner: string;
  probes?: Probe[];
  deepChecks?: DeepChecks;
  servesApi: boolean;
  metrics?: MetricsRecorder;
  /** Where the isolation guard's own metrics go (the process's Prometheus registry). */
  metricsRegistry?: Registry;
  /** Whether the AMQP broker took the last notification (the guard's outage grace). */
  broker?: BrokerWatch;
}

const DRAIN_ON_SHUTDOWN_MS = 5_000;

/** The monitor manager of this process with its probes and write queue, started and registered with the registry. */
export async function startMonitoring(
  config: Config,
  deps: MonitoringDeps & {
    /** The maintenance windows, loaded before the first round. */
    calendar: MaintenanceCalendar;
  },
): Promise<RunningMonitoring> {
  const { store, registry, logger, clock } = deps;
  const guard = probeTargetGuard({ denyCidrs: config.egress.deny_cidrs, allowCidrs: config.egress.allow_cidrs });
  // Probes given by a test (scripted) come without deep checks, unless it gives those too.
  // Scripted probes (probes.simulate_file, benchmarks only) send nothing: no deep checks, which would.
  const simulate = config.probes.simulate_file;
  const given = deps.probes ?? (simulate === undefined ? undefined : createScriptedProbes({ file: simulate, logger }));
  const probeSet = given
    ? { probes: given, deepChecks: deps.deepChecks, engines: undefined, close: async () => undefined }
    : createProbes(logger, guard, { engine: config.monitor.probe_engine });
  // Only the configured default: a VIM that asks for icmp in its own monitor_settings gets the same warning at its first ping.
  if (probeSet.engines?.icmp === 'node' && config.monitor.probes.includes('icmp')) checkIcmpTool(logger);
  const monitors = new MonitorRepository(store);
  const writes = new MonitorWriteQueue(monitors, logger, { clock, ...(deps.metrics && { metrics: deps.metrics }) });
  const { owner } = deps;
  // Built before the manager, whose monitors report through it; it reads the manager's VIMs once both exist.
  let manager: MonitorManager | undefined;
  const hold = new NotificationHold({
    calendar: deps.calendar,
    holds: new HoldRepository(store),
    owner,
    owned: () => manager?.owned,
    live: (vimId) => {
      const monitor = manager?.monitorOf(vimId);
      return monitor && { monitorId: monitor.monitor_id, statusSince: monitor.status_since, probes: monitor.probes };
    },
    damper: new FlapDamper({ maxChanges: config.flap.max_changes, windowMs: config.flap.window * 1000 }),
    clock,
    logger,
    ...(deps.metrics && { metrics: deps.metrics }),
    tickMs: config.maintenance.check_interval * 1000,
    refreshMs: config.maintenance.refresh_interval * 1000,
  });
  const probes = new Map<ProbeName, Probe>(probeSet.probes.map((probe) => [probe.name, probe]));
  const vims = new VimRepository(store);
  // Other workers can only exist on a shared database; there this worker also answers their requests.
  const confirmation = store.driver.shared
    ? await startConfirmation(config, {
        store,
        vims,
        probes,
        owner,
        clock,
        logger,
        credentialsOf: (vim) => registry.credentialsOf(vim),
        owns: (vimId) => manager?.monitorOf(vimId) !== undefined,
        ...(deps.metrics && { metrics: deps.metrics }),
      })
    : undefined;
  const isolationGuard = config.guard.enabled
    ? createIsolationGuard(config, {
        store,
        probes,
        worker: owner,
        clock,
        logger,
        outages: [
          { name: 'database', down: () => manager?.storeOutage() ?? false },
          ...(deps.broker ? [{ name: 'broker', down: () => deps.broker!.down }] : []),
        ],
        ...(deps.metricsRegistry && { registry: deps.metricsRegistry }),
        ...(deps.metrics && { metrics: deps.metrics }),
      })
    : undefined;
  const gate = combineGates(confirmation?.gate, isolationGuard);
  const history = new HistoryRecorder(
    // The hour's last rounds end up to an interval and a timeout after it: its flush waits for them.
    { flushIntervalMs: config.history.flush_interval * 1000, hourEndGraceMs: (config.monitor.interval + config.monitor.timeout) * 1000 },
    { store: new HistoryRepository(store), clock, logger, maintenance: deps.calendar, ...(deps.metrics && { metrics: deps.metrics }) },
  );
  const running = new MonitorManager(
    {
      defaults: config.monitor,
      healthDefaults: config.health,
      jitter: config.monitor.jitter,
      sweepIntervalSeconds: config.manager.sweep_interval,
      stallGraceSeconds: config.manager.stall_grace,
      failoverThreshold: config.manager.failover_threshold,
      owner,
      roundTickMs: config.monitor.batch_window * 1000,
      leaseTtlSeconds: config.manager.lease_ttl,
      heartbeatIntervalSeconds: config.manager.heartbeat_interval,
      sharedDatabase: store.driver.shared,
      servesApi: deps.servesApi,
      probeEngine: describeEngines(probeSet.engines, simulate !== undefined && deps.probes === undefined),
    },
    {
      vims,
      monitors,
      leases: new LeaseRepository(store),
      workers: new WorkerRepository(store),
      writes,
      probes,
      ...(gate && { gate }),
      ...(probeSet.deepChecks && { deepChecks: probeSet.deepChecks }),
      credentialsOf: (vim) => registry.credentialsOf(vim),
      clock,
      random: Math.random,
      logger,
      ...(deps.metrics && { metrics: deps.metrics }),
      hold,
      history,
    },
  );
  manager = running;
  registry.setLifecycleListener(running);
  if (isolationGuard) {
    isolationGuard.watch(running);
    // Canaries first: a worker that starts cut off must not give every VIM a first verdict of UNREACHABLE.
    await isolationGuard.start();
  }
  await running.start();
  hold.start();
  // The manager's first heartbeat has made this worker's row: its zone goes on it now, not at the next refresh.
  await confirmation?.poller.refreshNow();
  return {
    manager: running,
    guard: isolationGuard,
    writes,
    hold,
    confirmation,
    history,
    close: async () => {
      await hold.stop();
      await running.stop();
      await isolationGuard?.stop();
      await confirmation?.close();
      if (!(await writes.drain(DRAIN_ON_SHUTDOWN_MS))) logger.warn(writes.stats(), 'shutting down with monitor writes not stored');
      await writes.close();
      await probeSet.close();
    },
  };
}

/** The probe engine in a word for GET /v1.0/manager: the benchmark and operators check what really runs. */
function describeEngines(engines: { icmp: string; http: string } | undefined, simulated: boolean): string | undefined {
  if (simulated) return 'simulated';
  if (!engines) return undefined;
  return engines.icmp === engines.http ? engines.icmp : `icmp ${engines.icmp}, http ${engines.http}`;
}
