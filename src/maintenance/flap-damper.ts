/** Flap damping settings: more than `maxChanges` status changes within `windowMs` make a VIM flapping. */
export interface FlapSettings {
  /** 0 turns damping off. */
  maxChanges: number;
  windowMs: number;
}

export interface FlapState {
  /** When the VIM started flapping (epoch ms). */
  sinceMs: number;
  /** Status changes within the window when last counted. */
  changes: number;
  /** When receivers last got a status of this VIM while it flapped (epoch ms). */
  lastNotifiedMs: number;
}

interface Track {
  /** Times of the latest changes, oldest first; never more than maxChanges + 1. */
  changes: number[];
  flapping: FlapState | undefined;
}

/**
 * Which VIMs flap, from the times of their status changes, in memory on the
 * worker that runs their monitors (a takeover or a restart starts afresh:
 * nothing is lost, the pending catch-up is in the database). A VIM flaps
 * once it changed status more than `maxChanges` times within `windowMs`,
 * and stops after `windowMs` without a change. While it flaps, receivers get
 * at most one status per window (see notification-hold.ts).
 */
export class FlapDamper {
  private readonly tracks = new Map<string, Track>();

  constructor(private readonly settings: FlapSettings) {}

  get enabled(): boolean {
    return this.settings.maxChanges > 0;
  }

  get windowMs(): number {
    return this.settings.windowMs;
  }

  /** Counts a status change; 'started' when this change made the VIM flapping. */
  record(vimId: string, atMs: number): 'started' | 'flapping' | 'steady' {
    if (!this.enabled) return 'steady';
    let track = this.tracks.get(vimId);
    if (!track) {
      track = { changes: [], flapping: undefined };
      this.tracks.set(vimId, track);
    }
    track.changes.push(atMs);
    const from = atMs - this.settings.windowMs;
    while (track.changes.length > 0 && (track.changes[0] as number) <= from) track.changes.shift();
    while (track.changes.length > this.settings.maxChanges + 1) track.changes.shift();
    if (track.flapping) {
      track.flapping.changes = track.changes.length;
      return 'flapping';
    }
    if (track.changes.length <= this.settings.maxChanges) return 'steady';
    track.flapping = { sinceMs: atMs, changes: track.changes.length, lastNotifiedMs: atMs };
    return 'started';
  }

  stateOf(vimId: string): FlapState | undefined {
    return this.tracks.get(vimId)?.flapping;
  }

  /** Flapping, and receivers got nothing of it for a whole window: time for the one status of this window. */
  notifyDue(vimId: string, atMs: number): boolean {
    const state = this.stateOf(vimId);
    return state !== undefined && atMs - state.lastNotifiedMs >= this.settings.windowMs;
  }

  notified(vimId: string, atMs: number): void {
    const state = this.stateOf(vimId);
    if (state) state.lastNotifiedMs = atMs;
  }

  /** Ends the flapping of VIMs quiet for a whole window and forgets quiet tracks; returns the VIMs that calmed down. */
  settle(atMs: number): string[] {
    const calmed: string[] = [];
    for (const [vimId, track] of this.tracks) {
      const last = track.changes[track.changes.length - 1];
      if (last !== undefined && atMs - last < this.settings.windowMs) continue;
      if (track.flapping) calmed.push(vimId);
      this.tracks.delete(vimId);
    }
    return calmed;
  }

  /** The earliest instant at which a flapping VIM calms down or is due its one status of the window. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const track of this.tracks.values()) {
      if (!track.flapping) continue;
      const last = track.changes[track.changes.length - 1] ?? track.flapping.sinceMs;
      const due = Math.min(last, track.flapping.lastNotifiedMs) + this.settings.windowMs;
      if (next === undefined || due < next) next = due;
    }
    return next;
  }

  flappingCount(): number {
    let count = 0;
    for (const track of this.tracks.values()) if (track.flapping) count += 1;
    return count;
  }

  forget(vimId: string): void {
    this.tracks.delete(vimId);
  }
}
