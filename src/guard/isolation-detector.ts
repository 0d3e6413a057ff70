/**
 * The isolation guard's decision, without I/O or timers: fed one sample per
 * guard tick, it says whether this worker is cut off from its own network
 * (issue 11). Pure, so its windows, minimum count, hysteresis and graces are
 * pinned by unit tests on numbers alone.
 */

export interface IsolationSettings {
  /** More than this share (0..1) of the recently checked VIMs failing at once means isolation. */
  maxFailingShare: number;
  /** …but only with at least this many failing VIMs (a small worker's 2 of 3 is not an uplink). */
  minFailing: number;
  /** Seconds: how far back "the share was low before" looks, and how recent a round must be to count. */
  windowMs: number;
  /** Milliseconds after leaving isolation during which down verdicts are still held. */
  recoveryGraceMs: number;
  /** Milliseconds after a database or broker outage ends during which down verdicts are held. */
  outageGraceMs: number;
}

/** One tick's view of this worker's own network. */
export interface IsolationSample {
  atMs: number;
  /** `none`: no canary configured (or none answered yet): they neither isolate nor keep isolated. */
  canaries: 'ok' | 'failing' | 'none';
  /** Monitors with a round that ended inside the window. */
  recent: number;
  /** Of those, the ones whose latest round failed. */
  failing: number;
  /** Whether the database or the broker is unavailable now. */
  outage: boolean;
}

/**
 * normal: verdicts apply. isolated: down verdicts are held. recovering: the
 * cause is gone, verdicts wait for recovery_grace. outage_grace: a database or
 * broker outage just ended, verdicts wait for outage_grace (as Octavia's
 * health manager waits after a database outage). During the outage itself
 * monitoring goes on in memory as always: an outage alone is no sign that
 * this worker cannot see its VIMs (a cut that takes both is caught by the
 * failing share or the canaries).
 */
export type IsolationState = 'normal' | 'isolated' | 'recovering' | 'outage_grace';

export type IsolationCause = 'canaries' | 'failing_share';

export interface IsolationTransition {
  from: IsolationState;
  to: IsolationState;
  /** Set when entering isolation: what tripped it. */
  cause?: IsolationCause;
}

/**
 * Leaving needs the share at most half the entry threshold (hysteresis): a
 * share hovering at the threshold must not make the worker flip in and out.
 */
const LEAVE_FACTOR = 0.5;

export class IsolationDetector {
  private current: IsolationState = 'normal';
  private enteredAtMs: number | undefined;
  private cause: IsolationCause | undefined;
  /** When recovering or outage_grace ends. */
  private graceUntilMs = 0;
  /**
   * Whether the share was low at each recent tick, oldest first: kept back to the last tick at least a window old,
   * which is the baseline a rise is measured from (a few dozen entries: one per guard tick, not per VIM).
   */
  private readonly history: Array<{ atMs: number; low: boolean }> = [];
  private lastShare = 0;
  private lastFailing = 0;
  private lastRecent = 0;
  private inOutage = false;
  /** Until a window after the first rounds, the share is no baseline: at start-up first rounds come in over a whole interval. */
  private warmFromMs: number | undefined;

  constructor(private readonly settings: IsolationSettings) {}

  get state(): IsolationState {
    return this.current;
  }

  /** Whether the worker is cut off now (not in a grace): what the lead's composition with confirmations asks. */
  get isolated(): boolean {
    return this.current === 'isolated';
  }

  /** Whether down verdicts are held now (isolated or in a grace). */
  get holding(): boolean {
    return this.current !== 'normal';
  }

  get since(): number | undefined {
    return this.enteredAtMs;
  }

  get why(): IsolationCause | undefined {
    return this.cause;
  }

  get graceUntil(): number | undefined {
    return this.current === 'recovering' || this.current === 'outage_grace' ? this.graceUntilMs : undefined;
  }

  /** The share, failing and recent counts of the last sample. */
  get lastCounts(): { share: number; failing: number; recent: number } {
    return { share: this.lastShare, failing: this.lastFailing, recent: this.lastRecent };
  }

  /** Takes one sample; returns the transition it caused, if any. */
  observe(sample: IsolationSample): IsolationTransition | undefined {
    const share = sample.recent === 0 ? 0 : sample.failing / sample.recent;
    this.lastShare = share;
    this.lastFailing = sample.failing;
    this.lastRecent = sample.recent;
    const { maxFailingShare, minFailing, windowMs } = this.settings;
    const high = share > maxFailingShare && sample.failing >= minFailing;
    const low = share <= maxFailingShare * LEAVE_FACTOR || sample.failing < minFailing;
    // A sudden rise: high now, and low (half the threshold at most) a window ago. A share that creeps up over
    // several windows (a region failing VIM by VIM) or stands high is a real failure, not this worker's network.
    const lowBefore = this.lowWindowAgo(sample.atMs);
    const rose = high && lowBefore;
    if (this.warmFromMs === undefined && sample.recent > 0) this.warmFromMs = sample.atMs + windowMs;
    // Ticks count as a baseline only once every monitor had a full window for its first round: a worker that
    // starts among dead VIMs sees its share grow from 0 over the first interval, which is no sudden rise.
    if (this.warmFromMs !== undefined && sample.atMs >= this.warmFromMs) this.remember(sample.atMs, low);
    const outageEnded = this.inOutage && !sample.outage;
    this.inOutage = sample.outage;

    const before = this.current;
    if (this.current === 'isolated') {
      // An outage that ended while isolated is covered by recovery_grace, which starts later.
      if (sample.canaries !== 'failing' && low) this.moveTo('recovering', sample.atMs + this.settings.recoveryGraceMs);
    } else if (sample.canaries === 'failing' || rose) {
      // A cause that comes back during a grace is the same episode: it keeps its start and emits nothing new.
      const sameEpisode = this.current === 'recovering';
      this.current = 'isolated';
      if (!sameEpisode) {
        this.enteredAtMs = sample.atMs;
        this.cause = sample.canaries === 'failing' ? 'canaries' : 'failing_share';
      }
      return sameEpisode ? { from: before, to: 'isolated' } : { from: before, to: 'isolated', cause: this.cause! };
    } else if (outageEnded) {
      this.moveTo('outage_grace', sample.atMs + this.settings.outageGraceMs);
    } else if (this.current !== 'normal' && sample.atMs >= this.graceUntilMs) {
      this.current = 'normal';
      this.enteredAtMs = undefined;
      this.cause = undefined;
    }
    return this.current === before ? undefined : { from: before, to: this.current };
  }

  /** Whether the share was low at the newest tick at least a window before `atMs` (false without such a tick). */
  private lowWindowAgo(atMs: number): boolean {
    const horizon = atMs - this.settings.windowMs;
    // Keep the newest tick that is at least a window old at the front; what is older is no longer needed.
    while (this.history.length > 1 && this.history[1]!.atMs <= horizon) this.history.shift();
    const baseline = this.history[0];
    return baseline !== undefined && baseline.atMs <= horizon && baseline.low;
  }

  private remember(atMs: number, low: boolean): void {
    this.history.push({ atMs, low });
  }

  private moveTo(state: 'recovering' | 'outage_grace', untilMs: number): void {
    // An outage during recovery extends the wait, never shortens it.
    this.graceUntilMs = this.current === 'normal' ? untilMs : Math.max(this.graceUntilMs, untilMs);
    if (!(state === 'outage_grace' && this.current === 'recovering')) this.current = state;
  }
}
