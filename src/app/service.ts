import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApiServer } from '../api/server.js';
import type { Authenticator } from '../auth/authenticator.js';
import { KeystoneAuthenticator } from '../auth/keystone.js';
import { NoAuthAuthenticator } from '../auth/noauth.js';
import type { Config } from '../config/schema.js';
import { MonitorManager } from '../monitors/manager.js';
import { MonitorWriteQueue } from '../monitors/write-queue.js';
import { createProbes } from '../probes/index.js';
import type { Probe, ProbeName } from '../probes/probe.js';
import { SecretCipher } from '../secrets/cipher.js';
import { loadSecretKey } from '../secrets/key-source.js';
import { describeDatabaseUrl, openStore, type Store } from '../store/database.js';
import { EventRepository } from '../store/event-repository.js';
import { migrateToLatest } from '../store/migrate.js';
import { MonitorRepository } from '../store/monitor-repository.js';
import { VimRepository } from '../store/vim-repository.js';
import { systemClock, type Clock } from '../time/clock.js';
import { VimRegistry } from '../vims/registry.js';

export interface RunningService {
  /** e.g. http://127.0.0.1:9890 */
  url: string;
  app: FastifyInstance;
  store: Store;
  registry: VimRegistry;
  manager: MonitorManager | undefined;
  writes: MonitorWriteQueue | undefined;
  close(): Promise<void>;
}

export interface ServiceOptions {
  clock?: Clock;
  /** Probe drivers to use instead of the real ones (tests of the manager's own logic). */
  probes?: Probe[];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
const DRAIN_ON_SHUTDOWN_MS = 5_000;

/** Wires configuration, storage, registry, monitors and API together and starts listening. */
export async function startService(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<RunningService> {
  const clock = options.clock ?? systemClock;
  const { key, origin } = loadSecretKey({ keyFile: config.secrets.key_file, ...(config.secrets.key !== undefined && { key: config.secrets.key }) });
  logger.info(
    { key_origin: origin, key_file: origin === 'config' ? undefined : config.secrets.key_file },
    origin === 'created' ? 'created a new secret key file (mode 0600); back it up: stored credentials cannot be read without it' : 'secret key loaded',
  );

  const store = openStore(config.database.url, {
    poolSize: config.database.pool_size,
    onIdleError: (error) => logger.warn({ err: error }, 'database connection lost'),
  });
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  closers.push(() => store.close());
  try {
    const { applied } = await migrateToLatest(store);
    logger.info({ database: describeDatabaseUrl(config.database.url), dialect: store.dialect, applied }, 'database ready');

    const vims = new VimRepository(store);
    const monitors = new MonitorRepository(store);
    const { monitor: monitorDefaults } = config;
    const registry = new VimRegistry({ repository: vims, cipher: new SecretCipher(key), clock, monitorDefaults });

    let manager: MonitorManager | undefined;
    let writes: MonitorWriteQueue | undefined;
    if (config.manager.enabled) {
      const probeSet = options.probes ? { probes: options.probes, close: async () => undefined } : createProbes(logger);
      const { probes } = probeSet;
      closers.push(() => probeSet.close());
      const queue = new MonitorWriteQueue(monitors, logger);
      writes = queue;
      closers.push(async () => {
        if (!(await queue.drain(DRAIN_ON_SHUTDOWN_MS))) logger.warn(queue.stats(), 'shutting down with monitor writes not stored');
        queue.close();
      });
      const running = new MonitorManager(
        {
          defaults: monitorDefaults,
          jitter: monitorDefaults.jitter,
          sweepIntervalSeconds: config.manager.sweep_interval,
          stallGraceSeconds: config.manager.stall_grace,
          owner: `${hostname()}:${process.pid}`,
          roundTickMs: monitorDefaults.batch_window * 1000,
        },
        {
          vims,
          monitors,
          writes: queue,
          probes: new Map<ProbeName, Probe>(probes.map((probe) => [probe.name, probe])),
          credentialsOf: (vim) => registry.credentialsOf(vim),
          clock,
          random: Math.random,
          logger,
        },
      );
      manager = running;
      registry.setLifecycleListener(running);
      await running.start();
      closers.push(() => running.stop());
    } else {
      logger.info('monitor manager disabled in this process (manager.enabled: false): API only');
    }

    const authenticator = createAuthenticator(config, clock, logger);
    const app = await buildApiServer({
      registry,
      authenticator,
      logger,
      bodyLimit: config.server.body_limit,
      monitors,
      events: new EventRepository(store),
      ...(manager && { manager }),
    });
    closers.push(() => app.close());
    await app.listen({ host: config.server.host, port: config.server.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.server.port;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const url = `http://${host}:${port}`;
    logger.info({ url, auth: authenticator.strategy }, 'vim-monitor API listening');
    return { url, app, store, registry, manager, writes, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function createAuthenticator(config: Config, clock: Clock, logger: Logger): Authenticator {
  if (config.auth.strategy === 'keystone' && config.auth.keystone) {
    logger.info({ keystone: config.auth.keystone.url }, 'API authentication: Keystone tokens (X-Auth-Token)');
    return new KeystoneAuthenticator(config.auth.keystone, clock);
  }
  if (LOOPBACK.test(config.server.host)) {
    logger.info({ host: config.server.host }, 'API authentication: none (noauth); listening on loopback only');
  } else {
    logger.warn(
      { host: config.server.host },
      'API authentication is OFF (auth.strategy: noauth) on a non-loopback address: anyone who can reach it administers every VIM',
    );
  }
  return new NoAuthAuthenticator(config.auth.noauth.project_id);
}
