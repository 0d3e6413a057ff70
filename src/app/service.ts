import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ApiShutdown } from '../api/graceful-close.js';
import { buildApiServer } from '../api/server.js';
import type { Authenticator } from '../auth/authenticator.js';
import { KeystoneAuthenticator } from '../auth/keystone.js';
import { KeystoneClient } from '../auth/keystone-client.js';
import { NoAuthAuthenticator } from '../auth/noauth.js';
import type { Config } from '../config/schema.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import type { MonitorManager } from '../monitors/manager.js';
import type { IsolationGuard } from '../guard/isolation-guard.js';
import { MonitorViewService } from '../monitors/monitor-view.js';
import type { MonitorWriteQueue } from '../monitors/write-queue.js';
import type { Probe } from '../probes/probe.js';
import { probeTargetGuard } from '../probes/target-policy.js';
import { SecretCipher } from '../secrets/cipher.js';
import { guardSecretKey } from '../secrets/key-guard.js';
import { decodeKey } from '../secrets/key-source.js';
import { describeDatabaseUrl, openStore, type Store } from '../store/database.js';
import { EventRepository } from '../store/event-repository.js';
import { migrateToLatest } from '../store/migrate.js';
import { MonitorRepository } from '../store/monitor-repository.js';
import { SecretRepository } from '../store/secret-repository.js';
import { VimRepository } from '../store/vim-repository.js';
import { systemClock, type Clock } from '../time/clock.js';
import { VimRegistry } from '../vims/registry.js';
import type { EventDispatcher } from '../events/dispatcher.js';
import { EventService } from '../events/event-service.js';
import { startDelivery } from './delivery.js';
import { startMonitoring, type RunningMonitoring } from './monitoring.js';
import { MaintenanceCalendar } from '../maintenance/calendar.js';
import { NotificationHold } from '../maintenance/notification-hold.js';
import { MaintenanceService } from '../maintenance/service.js';
import { HoldRepository } from '../store/hold-repository.js';
import { MaintenanceRepository } from '../store/maintenance-repository.js';
import { BrokerWatch } from '../guard/broker-watch.js';
import { SessionRepository } from '../store/session-repository.js';
import { DashboardSessions } from '../sessions/sessions.js';
import { HistoryReader } from '../history/history-reader.js';
import { HistoryRetention } from '../history/retention.js';
import { HistoryRepository } from '../store/history-repository.js';
import { startMemoryTrim } from './memory-trim.js';

export interface RunningService {
  /** e.g. http://127.0.0.1:9890; empty for a worker without API. */
  url: string;
  app: FastifyInstance | undefined;
  store: Store;
  registry: VimRegistry;
  manager: MonitorManager | undefined;
  /** This worker's isolation guard (guard.enabled with monitors in this process). */
  guard: IsolationGuard | undefined;
  writes: MonitorWriteQueue | undefined;
  dispatcher: EventDispatcher | undefined;
  /** This process's metrics recorder (served on /metrics by the API). */
  metrics: PrometheusMetrics;
  /**
   * Graceful: event streams end, running requests finish (connections still
   * open after server.shutdown_timeout are cut), monitors hand their VIMs
   * back and store their last results, then the database closes (releasing
   * the SQLite lock). Idempotent: every call settles with the first.
   */
  close(): Promise<void>;
  /** Abrupt: cuts every API connection at once, then completes close(). Idempotent. */
  destroy(): Promise<void>;
}

export interface ServiceOptions {
  clock?: Clock;
  /** Probe drivers to use instead of the real ones (tests of the manager's own logic). */
  probes?: Probe[];
  /** false: a worker that only monitors (`vim-monitor worker`). */
  api?: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Wires configuration, storage, registry, monitors and API together and starts them. */
export async function startService(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<RunningService> {
  const clock = options.clock ?? systemClock;
  const metrics = new PrometheusMetrics();
  const withApi = options.api !== false;
  // A malformed secrets.key stops start-up before the database is touched.
  if (config.secrets.key !== undefined) decodeKey(config.secrets.key, 'secrets.key');
  const store = openStore(config.database.url, {
    poolSize: config.database.pool_size,
    sqliteCacheMb: config.database.sqlite_cache_mb,
    onIdleError: (error) => logger.warn({ err: error }, 'database connection lost'),
  });
  const closers: Array<() => Promise<void>> = [() => store.close()];
  const stopMemoryTrim = startMemoryTrim();
  closers.push(async () => stopMemoryTrim());
  let closed: Promise<void> | undefined;
  const closeAll = (): Promise<void> =>
    (closed ??= (async () => {
      for (const close of closers.splice(0).reverse()) await close();
    })());
  let api: ApiShutdown | undefined;
  const destroy = (): Promise<void> => {
    const done = closeAll();
    void api?.destroy();
    return done;
  };
  try {
    const { applied } = await migrateToLatest(store);
    logger.info({ database: describeDatabaseUrl(config.database.url), dialect: store.dialect, applied }, 'database ready');
    const cipher = new SecretCipher(await openSecretKey(config, store, clock, logger));
    const targetGuard = probeTargetGuard({ denyCidrs: config.egress.deny_cidrs, allowCidrs: config.egress.allow_cidrs });
    const registry = new VimRegistry({ repository: new VimRepository(store), cipher, clock, monitorDefaults: config.monitor, targetGuard });

    // One name for this process, as owner of its monitors and of its delivery channels.
    const owner = config.manager.worker_name ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    // Maintenance windows are known before the first round: a change in a window is held from the start.
    const calendar = new MaintenanceCalendar(new MaintenanceRepository(store), clock);
    await calendar.load();
    // The AMQP sink reports to it, the isolation guard reads it (outage grace after a broker outage).
    const broker = new BrokerWatch();
    const monitoring = config.manager.enabled
      ? await startMonitoring(config, {
          store,
          registry,
          logger,
          clock,
          owner,
          servesApi: withApi,
          metrics,
          metricsRegistry: metrics.registry,
          broker,
          calendar,
          ...(options.probes && { probes: options.probes }),
        })
      : undefined;
    if (monitoring) closers.push(() => monitoring.close());
    else logger.info('monitor manager disabled in this process (manager.enabled: false): API only');
    // Without monitors the hold only keeps this process's calendar fresh (the VIM and monitor views show maintenance).
    const hold =
      monitoring?.hold ??
      new NotificationHold({
        calendar,
        holds: new HoldRepository(store),
        owner,
        clock,
        logger,
        metrics,
        tickMs: config.maintenance.check_interval * 1000,
        refreshMs: config.maintenance.refresh_interval * 1000,
      });
    if (!monitoring) {
      hold.start();
      closers.push(() => hold.stop());
    }
    // One retention job per process (API or worker): passes of several processes are idempotent.
    const retention = new HistoryRetention(
      {
        rawEventsDays: config.history.raw_events_days,
        hourlyDays: config.history.hourly_days,
        dailyDays: config.history.daily_days,
        pruneIntervalMs: config.history.prune_interval * 1000,
        pruneBatch: config.history.prune_batch,
      },
      { events: new EventRepository(store), history: new HistoryRepository(store), clock, logger, metrics },
    );
    retention.start();
    closers.push(() => retention.close());
    const delivery = startDelivery(config, { store, cipher, clock, logger, owner, metrics, broker });
    closers.push(() => delivery.close());
    await delivery.ready;
    const running = {
      store,
      registry,
      manager: monitoring?.manager,
      guard: monitoring?.guard,
      writes: monitoring?.writes,
      dispatcher: delivery.dispatcher,
      metrics,
      close: closeAll,
      destroy,
    };

    if (!withApi) {
      logger.info({ owner: monitoring?.manager.stats().owner }, 'vim-monitor worker running (no API)');
      return { ...running, url: '', app: undefined };
    }
    const { authenticator, sessions } = createAuthentication(config, { clock, logger, store, cipher });
    const app = await buildApiServer({
      registry,
      authenticator,
      logger,
      bodyLimit: config.server.body_limit,
      monitors: new MonitorViewService({
        registry,
        monitors: new MonitorRepository(store),
        ...(monitoring && { manager: withConfirmationStats(monitoring) }),
        ...(monitoring?.guard && { guard: monitoring.guard }),
        calendar,
        hold,
      }),
      events: new EventService(new EventRepository(store)),
      subscriptions: delivery.subscriptions,
      maintenances: new MaintenanceService({
        repository: new MaintenanceRepository(store),
        vims: registry,
        clock,
        changed: () => hold.windowsChanged(),
      }),
      calendar,
      history: new HistoryReader({
        registry,
        history: new HistoryRepository(store),
        clock,
        flushIntervalMs: config.history.flush_interval * 1000,
      }),
      clock,
      streamPollMs: config.outbox.poll_interval * 1000,
      streamSettleMs: config.outbox.settle * 1000,
      metrics,
      limits: {
        headersTimeoutMs: config.server.headers_timeout * 1000,
        requestTimeoutMs: config.server.request_timeout * 1000,
        keepAliveTimeoutMs: config.server.keep_alive_timeout * 1000,
        maxConnections: config.server.max_connections,
      },
      ui: { ...(sessions && { sessions }), noauthProjectId: config.auth.noauth.project_id, secureCookie: config.ui.secure_cookie },
    });
    const shutdown = new ApiShutdown(app, { graceMs: config.server.shutdown_timeout * 1000, logger });
    api = shutdown;
    closers.push(() => shutdown.close());
    await app.listen({ host: config.server.host, port: config.server.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.server.port;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const url = `http://${host}:${port}`;
    logger.info({ url, auth: authenticator.strategy }, 'vim-monitor API listening');
    return { ...running, url, app };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** GET /v1.0/manager shows this worker's zone and its confirmation figures next to the manager's. */
function withConfirmationStats(monitoring: RunningMonitoring): Pick<MonitorManager, 'monitorOf' | 'list' | 'stats'> {
  const { manager, confirmation } = monitoring;
  return {
    monitorOf: (vimId) => manager.monitorOf(vimId),
    list: () => manager.list(),
    stats: () => {
      const confirming = confirmation?.stats();
      return { ...manager.stats(), ...(confirming && { zone: confirming.zone, confirmation: confirming }) };
    },
  };
}

/** The key that opens this database's secrets; a missing or different one stops start-up (SecretKeyError), never replaced. */
async function openSecretKey(config: Config, store: Store, clock: Clock, logger: Logger): Promise<Buffer> {
  const settings = { keyFile: config.secrets.key_file, ...(config.secrets.key !== undefined && { key: config.secrets.key }) };
  const { key, keyId, origin, adopted, finishedRotation } = await guardSecretKey(settings, new SecretRepository(store), clock);
  const keyFile = origin === 'config' ? undefined : config.secrets.key_file;
  if (finishedRotation) logger.warn({ key_id: keyId, key_file: keyFile }, 'finished an interrupted key rotation: the new key file is now in place');
  if (adopted) logger.info({ key_id: keyId }, 'stored the key check of the secret key that opens this database\'s secrets');
  logger.info(
    { key_origin: origin, key_id: keyId, key_file: keyFile },
    origin === 'created' ? 'created a new secret key file (mode 0600); back it up: stored credentials cannot be read without it' : 'secret key loaded',
  );
  return key;
}

/** The API's authenticator and, under keystone, the dashboard's sessions (which log in at the same Keystone). */
function createAuthentication(
  config: Config,
  deps: { clock: Clock; logger: Logger; store: Store; cipher: SecretCipher },
): { authenticator: Authenticator; sessions?: DashboardSessions } {
  const { clock, logger } = deps;
  if (config.auth.strategy === 'keystone' && config.auth.keystone) {
    logger.info({ keystone: config.auth.keystone.url }, 'API authentication: Keystone tokens (X-Auth-Token), and dashboard sessions');
    const keystone = new KeystoneClient(config.auth.keystone, clock);
    const authenticator = new KeystoneAuthenticator(config.auth.keystone, clock, keystone);
    const sessions = new DashboardSessions({
      repository: new SessionRepository(deps.store),
      cipher: deps.cipher,
      keystone,
      authenticator,
      clock,
      ttlMs: config.ui.session_ttl * 1000,
      logger,
    });
    return { authenticator, sessions };
  }
  if (LOOPBACK.test(config.server.host)) {
    logger.info({ host: config.server.host }, 'API authentication: none (noauth); listening on loopback only');
  } else {
    logger.warn(
      { host: config.server.host },
      'API authentication is OFF (auth.strategy: noauth) on a non-loopback address: anyone who can reach it administers every VIM',
    );
  }
  return { authenticator: new NoAuthAuthenticator(config.auth.noauth.project_id) };
}
