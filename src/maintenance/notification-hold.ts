import type { Logger } from 'pino';
import { isStoreOutage } from '../errors.js';
import type { HealthChange, HoldKind, ProbeDetails, StatusChange } from '../monitors/status-change.js';
import type { HoldRepository, PendingCatchUp } from '../store/hold-repository.js';
import { BackgroundErrors, type BackgroundErrorCounter } from '../time/background-errors.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { PeriodicTask, type Timer } from '../time/periodic-task.js';
import type { MaintenanceCalendar } from './calendar.js';
import type { FlapDamper, FlapState } from './flap-damper.js';
import { covers } from './window.js';

/** A VIM this process monitors now, with what a catch-up event needs of its monitor. */
export interface LiveVim {
  monitorId: string;
  statusSince: string;
  probes: ProbeDetails;
}

export interface HeldCounts {
  maintenance: number;
  flapping: number;
}

export interface NotificationHoldDeps {
  calendar: MaintenanceCalendar;
  holds: HoldRepository;
  /** This worker's name: it catches up the VIMs whose monitors it runs. */
  owner: string;
  /** The VIMs this process monitors now. Absent in a process without monitors: it only keeps the calendar fresh. */
  owned?(): OwnedVims | undefined;
  /** The live monitor of a VIM of this process (its id fences the catch-up write), or undefined. */
  live?(vimId: string): LiveVim | undefined;
  damper?: FlapDamper;
  clock: Clock;
  logger: Logger;
  metrics?: BackgroundErrorCounter & { vimsHeld?(counts: HeldCounts): void };
  /** Milliseconds between passes (in memory; the pending catch-ups are read only when a hold may have ended). */
  tickMs: number;
  /** Milliseconds between reads of the windows from the database (changes made through another process). */
  refreshMs: number;
  timer?: Timer;
}

/**
 * The VIMs of this process as a pass reads them: their number every pass (a
 * VIM taken over or given back), their ids and tenants only while a window
 * is open. A pass a second over 10,000 VIMs must not make an object per VIM.
 */
export interface OwnedVims {
  readonly size: number;
  forEach(visit: (vimId: string, tenantId: string) => void): void;
}

/** A pass reads the pending catch-ups even when nothing seems to have changed, at least this often. */
const SAFETY_PASS_TICKS = 30;

/**
 * The notification hold of issue 11: a status or condition change of a VIM
 * in a maintenance window, or flapping, is stored as usual (the history and
 * the API keep it) but flagged, and the dispatcher does not send flagged
 * events to webhooks and AMQP (unless a subscription asks for them).
 *
 * Receivers converge without this process remembering anything: a held
 * status change leaves `vims.notified_status` (the status receivers last
 * got) in the database, in the change's own transaction. When the hold ends
 * (the window closes or is deleted, the VIM calms down) this loop finds the
 * VIMs of its monitors with one pending, and stores ONE unheld catch-up
 * event from the status receivers got to the current one if they differ,
 * fenced by monitor id like every monitor write. A crash or a takeover in
 * between loses nothing: the next owner's pass finds the same rows.
 *
 * While a VIM flaps receivers get at most one status per flap window: the
 * change that starts the flapping (its reason says so), then a catch-up per
 * window when the status moved, and one when it calms down.
 */
export class NotificationHold {
  private readonly task: PeriodicTask;
  private readonly errors: BackgroundErrors;
  /** What last held each VIM (for the catch-up's reason; lost on restart, then the reason is generic). */
  private readonly lastHold = new Map<string, HoldKind>();
  private nextDueMs: number | undefined;
  private seenVersion = -1;
  private lastRefreshMs = 0;
  private ticks = 0;
  private ownedCount = -1;
  private dirty = true;

  constructor(private readonly deps: NotificationHoldDeps) {
    this.errors = new BackgroundErrors('maintenance', {
      logger: deps.logger,
      clock: deps.clock,
      metrics: deps.metrics,
      outageMessage: 'maintenance and flap holds: database unavailable, catch-up events wait',
    });
    this.task = new PeriodicTask({
      run: () => this.tick(),
      intervalMs: deps.tickMs,
      immediate: true,
      errors: this.errors,
      ...(deps.timer && { timer: deps.timer }),
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Windows changed through this process's API: read them again and look at every pending catch-up at once. */
  async windowsChanged(): Promise<void> {
    try {
      await this.deps.calendar.load();
      this.lastRefreshMs = this.deps.clock.now().getTime();
    } catch (error) {
      // The change is stored: the request must not fail for it. The loop's next pass reads the windows again.
      if (!isStoreOutage(error)) throw error;
      this.lastRefreshMs = 0;
    }
    this.dirty = true;
    this.task.wake();
  }

  /** Why this VIM's notifications are held at `atMs`, if they are. */
  heldBy(vimId: string, tenantId: string, atMs: number): HoldKind | undefined {
    if (this.deps.calendar.openFor(vimId, tenantId, atMs)) return 'maintenance';
    if (this.deps.damper?.stateOf(vimId)) return 'flapping';
    return undefined;
  }

  flappingOf(vimId: string): FlapState | undefined {
    return this.deps.damper?.stateOf(vimId);
  }

  /** A status change as it must be stored: flagged while held. Counts it for flap damping. */
  status(change: StatusChange): StatusChange {
    const atMs = Date.parse(`${change.at.replace(' ', 'T')}Z`);
    const flap = this.deps.damper?.record(change.vimId, atMs) ?? 'steady';
    const held = this.heldBy(change.vimId, change.tenantId, atMs);
    if (held === 'maintenance') return this.flag(change, 'maintenance');
    if (flap === 'started') {
      // The change that starts the flapping is sent, and says that the next ones are held.
      const window = Math.round((this.deps.damper?.windowMs ?? 0) / 1000);
      const state = this.deps.damper?.stateOf(change.vimId);
      this.deps.logger.warn({ vim_id: change.vimId, monitor_id: change.monitorId, changes: state?.changes, window_seconds: window }, 'VIM is flapping: notifications held');
      return { ...change, reason: `${change.reason} (flapping: ${state?.changes ?? 0} status changes within ${window} s; receivers get at most one status per ${window} s until it calms down)` };
    }
    if (held === 'flapping') return this.flag(change, 'flapping');
    return change;
  }

  /** A condition change as it must be stored: flagged while held. */
  health(change: HealthChange): HealthChange {
    const held = this.heldBy(change.vimId, change.tenantId, Date.parse(`${change.at.replace(' ', 'T')}Z`));
    return held ? { ...change, heldBy: held } : change;
  }

  /** One pass: windows read again when due, catch-ups when a hold may have ended, the gauges. Exposed for tests. */
  async tick(): Promise<void> {
    const nowMs = this.deps.clock.now().getTime();
    if (nowMs - this.lastRefreshMs >= this.deps.refreshMs) {
      await this.deps.calendar.load();
      this.lastRefreshMs = nowMs;
    }
    const calmed = this.deps.damper?.settle(nowMs) ?? [];
    for (const vimId of calmed) this.deps.logger.info({ vim_id: vimId }, 'VIM calmed down: flapping over');
    const counts = this.count(nowMs);
    this.ticks += 1;
    const due =
      this.deps.live !== undefined &&
      (this.dirty ||
        calmed.length > 0 ||
        this.deps.calendar.version !== this.seenVersion ||
        (this.nextDueMs !== undefined && nowMs >= this.nextDueMs) ||
        this.ticks % SAFETY_PASS_TICKS === 0);
    if (due) {
      this.dirty = false;
      this.seenVersion = this.deps.calendar.version;
      await this.catchUp(nowMs);
    }
    this.nextDueMs = earliest(this.deps.calendar.nextChange(nowMs), this.deps.damper?.nextDue());
    this.deps.metrics?.vimsHeld?.(counts);
    this.errors.succeeded();
  }

  private flag(change: StatusChange, kind: HoldKind): StatusChange {
    this.lastHold.set(change.vimId, kind);
    return { ...change, heldBy: kind, ...(change.health && { health: { ...change.health, heldBy: kind } }) };
  }

  /** VIMs of this process held now, by kind; a VIM taken over or given back makes the next pass read the pending catch-ups. */
  private count(nowMs: number): HeldCounts {
    const open = this.deps.calendar.openWindows(nowMs);
    const vims = this.deps.owned?.();
    const owned = vims?.size ?? 0;
    let maintenance = 0;
    if (open.length > 0) {
      vims?.forEach((vimId, tenantId) => {
        if (open.some((window) => covers(window, vimId, tenantId))) maintenance += 1;
      });
    }
    if (owned !== this.ownedCount) {
      this.ownedCount = owned;
      this.dirty = true;
    }
    return { maintenance, flapping: this.deps.damper?.flappingCount() ?? 0 };
  }

  private async catchUp(nowMs: number): Promise<void> {
    const pending = await this.deps.holds.pending(this.deps.owner);
    for (const row of pending) {
      const live = this.deps.live?.(row.vimId);
      if (!live) continue; // another worker's, or given back: its owner catches it up
      const held = this.heldBy(row.vimId, row.tenantId, nowMs);
      if (held === 'maintenance') continue;
      if (held === 'flapping' && !this.deps.damper?.notifyDue(row.vimId, nowMs)) continue;
      const outcome = await this.deps.holds.catchUp({
        vimId: row.vimId,
        vimName: row.vimName,
        tenantId: row.tenantId,
        monitorId: live.monitorId,
        status: row.status,
        notifiedStatus: row.notifiedStatus,
        reason: this.reasonFor(row, live, held),
        detail: JSON.stringify({ probes: live.probes }),
        at: tackerTimestamp(new Date(nowMs)),
      });
      if (held === 'flapping') this.deps.damper?.notified(row.vimId, nowMs);
      else this.lastHold.delete(row.vimId);
      if (outcome === 'sent') {
        this.deps.logger.info({ vim_id: row.vimId, monitor_id: live.monitorId, old: row.notifiedStatus, new: row.status }, 'catch-up event stored after a notification hold');
      } else if (outcome === 'moved') {
        this.dirty = true; // the status moved meanwhile: read it again next pass
      }
    }
    if (pending.length >= 1000) this.dirty = true;
  }

  private reasonFor(row: PendingCatchUp, live: LiveVim, held: HoldKind | undefined): string {
    const state = `status is ${row.status} since ${live.statusSince} (receivers last got ${row.notifiedStatus})`;
    if (held === 'flapping') return `flapping, at most one status per ${Math.round((this.deps.damper?.windowMs ?? 0) / 1000)} s: ${state}`;
    const was = this.lastHold.get(row.vimId);
    if (was === 'maintenance') return `maintenance ended: ${state}`;
    if (was === 'flapping') return `flapping over: ${state}`;
    return `notifications resumed after a hold: ${state}`;
  }
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
