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
  /** The last tick whose share was low, and whether any sample was taken yet. */
  private lowAtMs: number | undefined;
  private lastShare = 0;
  private lastFailing = 0;
  private lastRecent = 0;
  private inOutage = false;

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
    // The share rose within one window: it was low at some tick at most a window (plus this tick) ago.
    const rose = high && this.lowAtMs !== undefined && sample.atMs - this.lowAtMs <= windowMs;
    const low = share <= maxFailingShare * LEAVE_FACTOR || sample.failing < minFailing;
    if (!high) this.lowAtMs = sample.atMs;
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

  private moveTo(state: 'recovering' | 'outage_grace', untilMs: number): void {
    // An outage during recovery extends the wait, never shortens it.
    this.graceUntilMs = this.current === 'normal' ? untilMs : Math.max(this.graceUntilMs, untilMs);
    if (!(state === 'outage_grace' && this.current === 'recovering')) this.current = state;
  }
}
