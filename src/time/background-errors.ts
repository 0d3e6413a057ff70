import type { BaseLogger } from 'pino';
import { isStoreOutage, StorageFullError } from '../errors.js';
import type { Clock } from './clock.js';

/** The background tasks of a process: the `task` label of vim_monitor_background_errors_total (a fixed set). */
export const BACKGROUND_TASKS = ['sweep', 'heartbeat', 'dispatch', 'write_queue', 'event_stream', 'round', 'maintenance', 'confirm', 'isolation_guard', 'history', 'retention'] as const;
export type BackgroundTask = (typeof BACKGROUND_TASKS)[number];

/** `outage`: the database is unavailable or full, expected now and then. `unexpected`: anything else, a bug until shown otherwise. */
export const BACKGROUND_ERROR_KINDS = ['outage', 'unexpected'] as const;
export type BackgroundErrorKind = (typeof BACKGROUND_ERROR_KINDS)[number];

/** Where failures are counted (the Prometheus recorder; tests may pass their own). */
export interface BackgroundErrorCounter {
  backgroundError(task: BackgroundTask, kind: BackgroundErrorKind): void;
}

export interface BackgroundErrorsOptions {
  /** A pino logger (Fastify's too): only warn and error are used. */
  logger: Pick<BaseLogger, 'warn' | 'error'>;
  clock: Clock;
  metrics?: BackgroundErrorCounter | undefined;
  /** The warning at the start of an outage; the default names the task. */
  outageMessage?: string;
}

/**
 * The one error policy of the background loops (Octavia's rule: only the
 * expected database error is caught quietly, the rest is loud).
 *
 * An outage (what the store's driver classified as unavailable or full:
 * DatabaseUnavailableError, StorageFullError) is a warning once per episode, then one line
 * with the count of failed attempts when a run succeeds again: a loop that
 * retries every 200 ms must not write a warning per attempt. Anything else
 * is logged at error with the error, every time. Both are counted.
 */
export class BackgroundErrors {
  private outageSinceMs: number | undefined;
  private outageFailures = 0;

  constructor(
    readonly task: BackgroundTask,
    private readonly options: BackgroundErrorsOptions,
  ) {}

  /** Whether the task is in an outage episode (failed on an unavailable database since its last success). */
  get inOutage(): boolean {
    return this.outageSinceMs !== undefined;
  }

  /** Classifies, logs and counts one failure; `fields` are added to the log line, `message` replaces the default of an unexpected error. */
  failed(error: unknown, fields: Record<string, unknown> = {}, message?: string): BackgroundErrorKind {
    if (isStoreOutage(error)) {
      this.options.metrics?.backgroundError(this.task, 'outage');
      this.outageFailures += 1;
      if (this.outageSinceMs === undefined) {
        this.outageSinceMs = this.options.clock.now().getTime();
        this.options.logger.warn(
          { task: this.task, err: error, store: error instanceof StorageFullError ? 'full' : 'unavailable', ...fields },
          this.options.outageMessage ?? `${this.task}: database unavailable; retrying, quietly until it returns`,
        );
      }
      return 'outage';
    }
    this.options.metrics?.backgroundError(this.task, 'unexpected');
    this.options.logger.error({ task: this.task, err: error, ...fields }, message ?? `${this.task} failed unexpectedly`);
    return 'unexpected';
  }

  /** A run that reached the database: ends an outage episode with one line. */
  succeeded(): void {
    if (this.outageSinceMs === undefined) return;
    const seconds = (this.options.clock.now().getTime() - this.outageSinceMs) / 1000;
    this.options.logger.warn(
      { task: this.task, failed_attempts: this.outageFailures, outage_seconds: seconds },
      `${this.task}: database available again after ${this.outageFailures} failed attempts`,
    );
    this.outageSinceMs = undefined;
    this.outageFailures = 0;
  }
}
