#!/usr/bin/env node
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

/** Runs until SIGINT/SIGTERM, then stops cleanly: monitors hand their VIMs back to the other workers at once. */
async function runUntilSignalled(api: boolean, configFile: string | undefined): Promise<void> {
  const config = loadConfig(configFile ? { file: configFile } : {});
  const logger = createLogger(config.log);
  const service = await startService(config, logger, { api });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
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
