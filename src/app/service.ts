import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApiServer } from '../api/server.js';
import type { Authenticator } from '../auth/authenticator.js';
import { KeystoneAuthenticator } from '../auth/keystone.js';
import { NoAuthAuthenticator } from '../auth/noauth.js';
import type { Config } from '../config/schema.js';
import { SecretCipher } from '../secrets/cipher.js';
import { loadSecretKey } from '../secrets/key-source.js';
import { describeDatabaseUrl, openStore, type Store } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { VimRepository } from '../store/vim-repository.js';
import { systemClock, type Clock } from '../time/clock.js';
import { VimRegistry } from '../vims/registry.js';

export interface RunningService {
  /** e.g. http://127.0.0.1:9890 */
  url: string;
  app: FastifyInstance;
  store: Store;
  registry: VimRegistry;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Wires configuration, storage, registry and API together and starts listening. */
export async function startService(config: Config, logger: Logger, clock: Clock = systemClock): Promise<RunningService> {
  const { key, origin } = loadSecretKey({ keyFile: config.secrets.key_file, ...(config.secrets.key !== undefined && { key: config.secrets.key }) });
  logger.info(
    { key_origin: origin, key_file: origin === 'config' ? undefined : config.secrets.key_file },
    origin === 'created' ? 'created a new secret key file (mode 0600); back it up: stored credentials cannot be read without it' : 'secret key loaded',
  );

  const store = openStore(config.database.url, {
    poolSize: config.database.pool_size,
    onIdleError: (error) => logger.warn({ err: error }, 'database connection lost'),
  });
  try {
    const { applied } = await migrateToLatest(store);
    logger.info({ database: describeDatabaseUrl(config.database.url), dialect: store.dialect, applied }, 'database ready');

    const registry = new VimRegistry({ repository: new VimRepository(store), cipher: new SecretCipher(key), clock });
    const authenticator = createAuthenticator(config, clock, logger);
    const app = await buildApiServer({ registry, authenticator, logger, bodyLimit: config.server.body_limit });
    await app.listen({ host: config.server.host, port: config.server.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.server.port;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const url = `http://${host}:${port}`;
    logger.info({ url, auth: authenticator.strategy }, 'vim-monitor API listening');
    return {
      url,
      app,
      store,
      registry,
      close: async () => {
        await app.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
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
