/** A full read that is due: hand it back to followed() once the read succeeded. */
export interface DueRead {
  /** The change counter as read before the full read; undefined when the counter row is missing. */
  readonly counter: number | undefined;
}

/**
 * What one sweeper (a monitor manager) knows about VIM changes between its
 * sweeps. Reading every VIM's revision, and making monitor rows for VIMs
 * that lack one, costs as much as the table is long; the change counter is
 * one row, moved by every VIM insert, update and delete in the same
 * transaction. The counter is read before the full read, so a change that
 * commits during it moves the counter past the value acknowledged and is
 * caught by the next sweep.
 */
export class VimChangeWatch {
  private acknowledged: DueRead | undefined;
  private sweepsWithoutFullRead = 0;
  /** Bumped by every full read: the monitor row count is kept only within one. */
  private fullReads = 0;
  private counted: { rows: number; fullReads: number; liveWorkers: number } | undefined;

  constructor(private readonly readCounter: () => Promise<number | undefined>) {}

  /**
   * Reads the counter and returns a DueRead when the sweep must read every
   * VIM: the counter moved since the last full read, there was none yet, the
   * counter row is missing, or `safetyNet` sweeps passed without one (should
   * some write ever bypass the counter). Otherwise undefined.
   */
  async fullReadDue(safetyNet: number): Promise<DueRead | undefined> {
    const counter = await this.readCounter();
    this.sweepsWithoutFullRead += 1;
    const moved = counter === undefined || this.acknowledged === undefined || this.acknowledged.counter !== counter;
    if (!moved && this.sweepsWithoutFullRead < safetyNet) return undefined;
    return { counter };
  }

  /** The full read of `due` succeeded: changes up to its counter are followed. Not called after a failed read, so the next sweep retries it. */
  followed(due: DueRead): void {
    this.acknowledged = due;
    this.sweepsWithoutFullRead = 0;
    this.fullReads += 1;
  }

  /**
   * The number of monitor rows for the fair share. Rows come and go with
   * VIMs, so the count of the last full read still holds until the next
   * one; it is taken again too when the number of live workers changed, the
   * moment a rebalance must be exact (a worker joined or died).
   */
  async monitorRows(liveWorkers: number, count: () => Promise<number>): Promise<number> {
    const known = this.counted;
    if (known && known.fullReads === this.fullReads && known.liveWorkers === liveWorkers) return known.rows;
    const rows = await count();
    this.counted = { rows, fullReads: this.fullReads, liveWorkers };
    return rows;
  }
}
