import type { Logger } from 'pino';
import { isStoreOutage } from '../errors.js';
import type { MonitorRepository } from '../store/monitor-repository.js';
import { BackgroundErrors, type BackgroundErrorCounter } from '../time/background-errors.js';
import { systemClock, type Clock } from '../time/clock.js';
import { PeriodicTask, type Timer } from '../time/periodic-task.js';
import type { PlacementAttr } from '../vims/model.js';
import type { CapacityFigures } from '../health/condition.js';
import type { HealthChange, StatusChange } from './status-change.js';

export type MonitorWrite =
  | { kind: 'status'; change: StatusChange }
  | { kind: 'health'; change: HealthChange }
  | { kind: 'assign'; vimId: string; monitorId: string; owner: string; at: string; replacement: boolean; onlyIfOwner?: string }
  | { kind: 'placement'; vimId: string; placement: PlacementAttr }
  | { kind: 'capacity'; vimId: string; monitorId: string; capacity: CapacityFigures };

export interface WriteQueueStats {
  pending: number;
  written: number;
  fenced: number;
  stale: number;
  retries: number;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

export interface MonitorWriteQueueOptions {
  metrics?: BackgroundErrorCounter;
  clock?: Clock;
  timer?: Timer;
}

/**
 * Everything monitors want stored goes through one ordered queue. While the
 * database is unreachable monitoring carries on in memory and the queue keeps
 * its writes; when the database returns they are written in the order they
 * were decided, none lost. A monitor replacement is queued behind the old
 * monitor's pending writes, so fencing never drops a verdict that was made
 * before the replacement.
 *
 * The writer is a PeriodicTask that runs only when woken (a push) or to
 * retry after an outage (250 ms doubling to 5 s); the loops' error policy
 * says "database unavailable" once per outage and counts every attempt.
 */
export class MonitorWriteQueue {
  private readonly queue: MonitorWrite[] = [];
  private running = false;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly counts = { written: 0, fenced: 0, stale: 0, retries: 0 };
  private readonly errors: BackgroundErrors;
  private readonly writer: PeriodicTask;

  constructor(
    private readonly repository: MonitorRepository,
    private readonly logger: Logger,
    options: MonitorWriteQueueOptions = {},
  ) {
    this.errors = new BackgroundErrors('write_queue', {
      logger,
      clock: options.clock ?? systemClock,
      metrics: options.metrics,
      outageMessage: 'database unavailable: keeping monitor writes in memory',
    });
    this.writer = new PeriodicTask({
      run: () => this.run(),
      intervalMs: Number.POSITIVE_INFINITY,
      retryDelayMs: (failures) => Math.min(FIRST_RETRY_MS * 2 ** (failures - 1), MAX_RETRY_MS),
      errors: this.errors,
      ...(options.timer && { timer: options.timer }),
    });
    this.writer.start();
  }

  /** Queues a write; the writer starts at once unless it is waiting to retry after an outage. */
  push(write: MonitorWrite): void {
    this.queue.push(write);
    this.writer.wake();
  }

  stats(): WriteQueueStats {
    return { pending: this.queue.length, ...this.counts };
  }

  /** Resolves when everything queued so far is stored, or after `timeoutMs` (false). */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0 && !this.running) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops the writer (what is queued stays unwritten); resolves once a write in flight has ended. Idempotent. */
  close(): Promise<void> {
    this.closed = true;
    return this.writer.stop();
  }

  /** Writes the queue in order; on a store outage (unreachable or full) the write stays at the head and the error goes to the writer, which retries. */
  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const head = this.queue[0] as MonitorWrite;
        try {
          await this.write(head);
        } catch (error) {
          if (isStoreOutage(error)) {
            this.counts.retries += 1;
            throw error;
          }
          // Not a transient fault: keeping it would block every later write forever.
          this.errors.failed(error, { write: describe(head) }, 'monitor write failed and was dropped');
        }
        this.queue.shift();
      }
    } finally {
      this.running = false;
    }
    if (this.queue.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private async write(item: MonitorWrite): Promise<void> {
    switch (item.kind) {
      case 'assign':
        await this.repository.assign(item.vimId, item.monitorId, item.owner, item.at, item.replacement, item.onlyIfOwner);
        return;
      case 'placement':
        await this.repository.setPlacement(item.vimId, item.placement);
        return;
      case 'capacity':
        if ((await this.repository.recordCapacity(item.vimId, item.monitorId, item.capacity)) === 'fenced') {
          this.logger.warn({ vim_id: item.vimId, monitor_id: item.monitorId }, 'capacity write refused: this monitor no longer owns the VIM');
        }
        return;
      case 'health': {
        const outcome = await this.repository.recordHealthChange(item.change);
        this.counts[outcome] += 1;
        const { vimId, monitorId, oldHealth, newHealth } = item.change;
        if (outcome === 'written') {
          this.logger.info({ vim_id: vimId, monitor_id: monitorId, old: oldHealth, new: newHealth, changed: item.change.changed, reason: item.change.reason }, 'VIM conditions changed');
        } else if (outcome === 'fenced') {
          this.logger.warn({ vim_id: vimId, monitor_id: monitorId, new: newHealth }, 'condition write refused: this monitor no longer owns the VIM');
        }
        return;
      }
      case 'status': {
        const outcome = await this.repository.recordStatusChange(item.change);
        this.counts[outcome] += 1;
        const { vimId, monitorId, oldStatus, newStatus } = item.change;
        if (outcome === 'written') {
          this.logger.info({ vim_id: vimId, monitor_id: monitorId, old: oldStatus, new: newStatus, reason: item.change.reason }, 'VIM status changed');
        } else if (outcome === 'fenced') {
          this.logger.warn({ vim_id: vimId, monitor_id: monitorId, new: newStatus }, 'status write refused: this monitor no longer owns the VIM');
        }
        return;
      }
    }
  }
}

function describe(write: MonitorWrite): Record<string, string> {
  return write.kind === 'status' || write.kind === 'health'
    ? { kind: write.kind, vim_id: write.change.vimId, monitor_id: write.change.monitorId }
    : write.kind === 'capacity'
    ? { kind: write.kind, vim_id: write.vimId, monitor_id: write.monitorId }
    : { kind: write.kind, vim_id: write.vimId };
}
