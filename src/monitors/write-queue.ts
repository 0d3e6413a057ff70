import type { Logger } from 'pino';
import { DatabaseUnavailableError } from '../errors.js';
import type { MonitorRepository } from '../store/monitor-repository.js';
import type { PlacementAttr } from '../vims/model.js';
import type { StatusChange } from './status-change.js';

export type MonitorWrite =
  | { kind: 'status'; change: StatusChange }
  | { kind: 'assign'; vimId: string; monitorId: string; owner: string; at: string; replacement: boolean; leaseUntilMs: number; onlyIfOwner?: string }
  | { kind: 'placement'; vimId: string; placement: PlacementAttr };

export interface WriteQueueStats {
  pending: number;
  written: number;
  fenced: number;
  stale: number;
  retries: number;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

/**
 * Everything monitors want stored goes through one ordered queue. While the
 * database is unreachable monitoring carries on in memory and the queue keeps
 * its writes; when the database returns they are written in the order they
 * were decided, none lost. A monitor replacement is queued behind the old
 * monitor's pending writes, so fencing never drops a verdict that was made
 * before the replacement.
 */
export class MonitorWriteQueue {
  private readonly queue: MonitorWrite[] = [];
  private running = false;
  private retryDelay = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly counts = { written: 0, fenced: 0, stale: 0, retries: 0 };

  constructor(
    private readonly repository: MonitorRepository,
    private readonly logger: Logger,
  ) {}

  push(write: MonitorWrite): void {
    this.queue.push(write);
    if (!this.running && !this.retryTimer) void this.run();
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

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const head = this.queue[0] as MonitorWrite;
        try {
          await this.write(head);
        } catch (error) {
          if (error instanceof DatabaseUnavailableError) {
            this.scheduleRetry();
            return;
          }
          // Not a transient fault: keeping it would block every later write forever.
          this.logger.error({ err: error, write: describe(head) }, 'monitor write failed and was dropped');
        }
        this.queue.shift();
        this.retryDelay = FIRST_RETRY_MS;
      }
    } finally {
      this.running = false;
    }
    if (this.queue.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private scheduleRetry(): void {
    this.counts.retries += 1;
    if (this.counts.retries === 1 || this.retryDelay === MAX_RETRY_MS) {
      this.logger.warn({ pending: this.queue.length, retry_in_ms: this.retryDelay }, 'database unavailable: keeping monitor writes in memory');
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.run();
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
  }

  private async write(item: MonitorWrite): Promise<void> {
    switch (item.kind) {
      case 'assign':
        await this.repository.assign(item.vimId, item.monitorId, item.owner, item.at, item.replacement, item.leaseUntilMs, item.onlyIfOwner);
        return;
      case 'placement':
        await this.repository.setPlacement(item.vimId, item.placement);
        return;
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
  return write.kind === 'status'
    ? { kind: write.kind, vim_id: write.change.vimId, monitor_id: write.change.monitorId }
    : { kind: write.kind, vim_id: write.vimId };
}
