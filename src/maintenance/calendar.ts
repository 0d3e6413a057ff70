import type { MaintenanceRepository } from '../store/maintenance-repository.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { nextChange, occurrenceAt, type Occurrence } from './schedule.js';
import { covers, type MaintenanceWindow } from './window.js';

/** A VIM's open maintenance window, as the VIM and monitor views show it. */
export interface MaintenanceState {
  window_id: string;
  reason: string;
  /** Tacker format, UTC: when this occurrence opened. */
  since: string;
  /** Tacker format, UTC; null: open-ended (until the window is deleted). */
  until: string | null;
}

/**
 * Every process's copy of the maintenance windows, in memory: a VIM's
 * monitor asks it on every status change and the API on every VIM it shows,
 * so no query runs per round or per VIM (10,000 VIMs, a few windows). Loaded
 * whole from the database (windows are few: bounded per tenant), again
 * after each change through this process's API, and periodically by the
 * notification hold's loop (changes made through another process).
 */
export class MaintenanceCalendar {
  private windows: readonly MaintenanceWindow[] = [];
  private loadedVersion = 0;
  /** The windows as last read, to tell a periodic read that changed nothing (the usual case) from a change. */
  private signature = '';
  /**
   * Per window, its occurrence and the span in which that answer holds (up
   * to the window's next change): listing 10,000 VIMs asks about each, and a
   * weekly window's answer costs a few time zone conversions.
   */
  private readonly answers = new Map<string, { fromMs: number; untilMs: number; occurrence: Occurrence | undefined }>();

  constructor(
    private readonly repository: MaintenanceRepository,
    private readonly clock: Clock,
  ) {}

  /** Reads every window from the database. */
  async load(): Promise<void> {
    const windows = await this.repository.list();
    const signature = JSON.stringify(windows);
    if (signature === this.signature) return;
    this.signature = signature;
    this.windows = windows;
    this.answers.clear();
    this.loadedVersion += 1;
  }

  /** Moves by one whenever a load finds the windows changed: the hold then looks again at its VIMs' pending catch-ups. */
  get version(): number {
    return this.loadedVersion;
  }

  all(): readonly MaintenanceWindow[] {
    return this.windows;
  }

  /** The window open for this VIM at `atMs` (of several, the one open longest ahead), or undefined. */
  openFor(vimId: string, tenantId: string, atMs = this.clock.now().getTime()): { window: MaintenanceWindow; occurrence: Occurrence } | undefined {
    let best: { window: MaintenanceWindow; occurrence: Occurrence } | undefined;
    for (const window of this.windows) {
      if (!covers(window, vimId, tenantId)) continue;
      const occurrence = this.occurrenceOf(window, atMs);
      if (!occurrence) continue;
      if (!best || endOf(occurrence) > endOf(best.occurrence)) best = { window, occurrence };
    }
    return best;
  }

  /** As the API shows it: null when the VIM is in no window now. */
  stateOf(vimId: string, tenantId: string, atMs = this.clock.now().getTime()): MaintenanceState | null {
    const open = this.openFor(vimId, tenantId, atMs);
    if (!open) return null;
    return {
      window_id: open.window.id,
      reason: open.window.reason,
      since: tackerTimestamp(new Date(open.occurrence.startMs)),
      until: open.occurrence.endMs === null ? null : tackerTimestamp(new Date(open.occurrence.endMs)),
    };
  }

  /** The windows open at `atMs` (each evaluated once; matching a VIM against them is then a scope check). */
  openWindows(atMs: number): MaintenanceWindow[] {
    return this.windows.filter((window) => this.occurrenceOf(window, atMs) !== undefined);
  }

  private occurrenceOf(window: MaintenanceWindow, atMs: number): Occurrence | undefined {
    const known = this.answers.get(window.id);
    if (known && known.fromMs <= atMs && atMs < known.untilMs) return known.occurrence;
    const occurrence = occurrenceAt(window.schedule, atMs);
    this.answers.set(window.id, { fromMs: atMs, untilMs: nextChange(window.schedule, atMs) ?? Number.POSITIVE_INFINITY, occurrence });
    return occurrence;
  }

  /** The next instant after `atMs` at which any window opens or closes; undefined: none ahead. */
  nextChange(atMs: number): number | undefined {
    let next: number | undefined;
    for (const window of this.windows) {
      const at = nextChange(window.schedule, atMs);
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }
}

function endOf(occurrence: Occurrence): number {
  return occurrence.endMs ?? Number.POSITIVE_INFINITY;
}
