/** The vim-monitor command line (started by main.ts once the heap is sized). */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { startService } from '../app/service.js';
import { runSecretsRotate } from './secrets-rotate.js';
import { loadConfig } from '../config/load.js';
import { ConfigurationError, VimMonitorError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { describeDatabaseUrl, openStore } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('vim-monitor')
  .description('VIM registry (Tacker v1.0 API) and VIM health monitor')
  .version(pkg.version);

/** Seconds past server.shutdown_timeout for monitors to store their last results and the database to close. */
const SHUTDOWN_MARGIN_SECONDS = 10;

/**
 * Runs until SIGINT/SIGTERM, then stops cleanly: event streams end, monitors
 * hand their VIMs back to the other workers at once. Clients cannot hold the
 * process: their connections are cut after server.shutdown_timeout, and a
 * second signal cuts them at once. Exit code 0 when everything was closed
 * (cut clients included: the cut is the bound working), 1 when closing
 * failed or did not finish within shutdown_timeout + a margin.
 */
async function runUntilSignalled(api: boolean, configFile: string | undefined): Promise<void> {
  const config = loadConfig(configFile ? { file: configFile } : {});
  const logger = createLogger(config.log);
  const service = await startService(config, logger, { api });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: cutting every API connection now');
      void service.destroy();
      return;
    }
    stopping = true;
    logger.info({ signal, shutdown_timeout: config.server.shutdown_timeout }, 'shutting down');
    const limit = config.server.shutdown_timeout + SHUTDOWN_MARGIN_SECONDS;
    // Last resort against anything hanging inside (a database that never answers its close): the process ends regardless.
    setTimeout(() => {
      logger.error({ seconds: limit }, 'shutdown did not finish in time: exiting without it');
      process.exit(1);
    }, limit * 1000).unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

program
  .command('serve')
  .description('run the API and, unless manager.enabled is false, monitors')
  .option('-c, --config <file>', 'YAML configuration file (environment variables VIM_MONITOR_* override it)')
  .action(async (options: { config?: string }) => runUntilSignalled(true, options.config));

program
  .command('worker')
  .description('run monitors only, without the API: extra monitoring capacity on a shared PostgreSQL or MariaDB database')
  .option('-c, --config <file>', 'YAML configuration file (environment variables VIM_MONITOR_* override it)')
  .action(async (options: { config?: string }) => runUntilSignalled(false, options.config));

const db = program.command('db').description('database maintenance');
db.command('upgrade')
  .description('apply pending schema migrations and exit')
  .option('-c, --config <file>', 'YAML configuration file')
  .action(async (options: { config?: string }) => {
    const config = loadConfig(options.config ? { file: options.config } : {});
    const store = openStore(config.database.url, { poolSize: 1 });
    try {
      const { applied } = await migrateToLatest(store);
      process.stdout.write(
        `${describeDatabaseUrl(config.database.url)}: ${applied.length ? `applied ${applied.join(', ')}` : 'already up to date'}\n`,
      );
    } finally {
      await store.close();
    }
  });

program
  .command('secrets')
  .description('secret key maintenance')
  .command('rotate')
  .description('re-seal every stored secret under a new key (stop every vim-monitor process on the database first)')
  .option('-c, --config <file>', 'YAML configuration file')
  .action(async (options: { config?: string }) => {
    const config = loadConfig(options.config ? { file: options.config } : {});
    await runSecretsRotate(config, { input: process.stdin, output: process.stdout, prompt: process.stderr });
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  // One clear line for the operator; configuration errors already name the key.
  const message =
    error instanceof ConfigurationError
      ? `invalid configuration: ${error.message}`
      : error instanceof VimMonitorError
        ? error.message
        : error instanceof Error
          ? error.message
          : String(error);
  process.stderr.write(`vim-monitor: ${message}\n`);
  process.exit(1);
});
