import type { Logger } from 'pino';
import type { OwnedHistoryDay } from '../store/history-repository.js';
import { BackgroundErrors, type BackgroundErrorCounter } from '../time/background-errors.js';
import type { Clock } from '../time/clock.js';
import { PeriodicTask, systemTimer, type Timer } from '../time/periodic-task.js';
import type { VimStatus } from '../vims/model.js';
import { BlockPools, DayBlock, MAINTENANCE_REACHABLE, MAINTENANCE_UNREACHABLE, PENDING, REACHABLE, UNREACHABLE } from './day-block.js';
import { MaintenanceSpans, type WindowSource } from './maintenance-spans.js';
import { DAY_MS, HOUR_MS, type HistoryDay } from './model.js';
import { nextTurn } from '../time/next-turn.js';

/** What the recorder needs of HistoryRepository (tests put an outage in between). */
export interface HistoryStore {
  read(vimIds: readonly string[], fromDay: number, toDay: number): Promise<HistoryDay[]>;
  save(days: readonly OwnedHistoryDay[]): Promise<string[]>;
}

export interface HistoryRecorderOptions {
  /** `history.flush_interval` in ms. */
  flushIntervalMs: number;
  /** How long after an hour ends its flush waits for the rounds in flight to cross it (about one round). */
  hourEndGraceMs: number;
  /** VIMs per read and save (default 500). */
  batchSize?: number;
}

export interface HistoryRecorderDeps {
  store: HistoryStore;
  clock: Clock;
  logger: Logger;
  /** The maintenance windows; without them no time counts as maintenance. */
  maintenance?: WindowSource;
  metrics?: BackgroundErrorCounter;
  timer?: Timer;
}

/** The monitor settings a round's gap is judged by. */
interface RoundTiming {
  readonly interval: number;
  readonly timeout: number;
}

const NO_PROBES: readonly string[] = [];
/** Never written: a VIM's days are replaced, not pushed to. */
const NO_DAYS: DayBlock[] = [];
/**
 * Stored days read at a time before a first write (a restart's first flush
 * reads every VIM's day). A read's decoded hours are an object per hour and
 * probe; a hundred days of them die young, where 500 outlived a scavenge or
 * two and were promoted: at 10,000 VIMs the old generation grew by ~10 MB.
 */
const STORED_READ_CHUNK = 100;
/** Flushes in a row that may find a VIM fenced off while its new monitor's id is still on its way to the store. */
const FENCED_RETRIES = 3;

/** One VIM's history not yet written, or written but still growing (the current day). */
class VimState {
  /** The end of the last round (NaN: no round yet, the clock has not started). */
  lastEndMs = Number.NaN;
  /** The hour (since the epoch) whose latencies its day's histograms hold; NaN: none. */
  histHour = Number.NaN;
  probes: readonly string[] = NO_PROBES;
  /** Usually one day, two around midnight until the old one is written. */
  days: DayBlock[] = NO_DAYS;
  /** Handed back to the store: written once more, then forgotten. */
  released = false;
  /** The monitor changed within this process (a replacement): the store learns its id through the write queue, a little later. */
  idUnconfirmed = false;
  fencedFlushes = 0;
  /** In the recorder's map: false once dropped, so a handle that kept it looks it up again. */
  live = true;

  constructor(
    readonly vimId: string,
    public monitorId: string,
    public tenantId: string,
  ) {}

  dirty(): boolean {
    for (const block of this.days) if (block.dirty) return true;
    return false;
  }
}

/** What a VIM's monitor reports through, one per monitor: nothing is allocated per round. */
export class VimHistory {
  /** @internal the recorder's state for this VIM as of the last call, so that a round costs no Map lookups. */
  state: VimState | undefined;

  constructor(
    private readonly recorder: HistoryRecorder,
    readonly vimId: string,
    readonly monitorId: string,
    readonly tenantId: string,
  ) {}

  /** One probe's check in the round that ended at `atMs`. */
  checked(probe: string, ok: boolean, latencyMs: number | undefined, atMs: number): void {
    this.recorder.checked(this, probe, ok, latencyMs, atMs);
  }

  /**
   * A round ended at `atMs`. `held`: the status the VIM had since the
   * previous round ended (before this round's verdict); `conditionsChanged`:
   * the round changed its conditions (a health change).
   */
  roundEnded(held: VimStatus, atMs: number, timing: RoundTiming, conditionsChanged: boolean): void {
    this.recorder.roundEnded(this, held, atMs, timing, conditionsChanged);
  }
}

/**
 * The write side of status history (issue 12): the worker that owns a VIM
 * keeps its current day in memory, as its monitor reports rounds, and
 * stores it every flush interval, after each hour, and on a graceful close.
 *
 * Time between the end of one round and the end of the next counts for the
 * status the VIM held over it, split at hours and UTC days. A monitor's
 * first round starts the clock; a gap longer than two intervals and a
 * timeout (a stalled loop, a stopped process) counts for nothing: unknown,
 * never up. Before its first write of a day the recorder reads what is
 * stored for it (a previous owner, this worker's previous life) and carries
 * that on, so no owner overwrites another's hours.
 *
 * Outages (database unavailable or full) keep the data for the next flush;
 * a day fenced off by another owner is dropped (that owner carries on).
 */
export class HistoryRecorder {
  private readonly states = new Map<string, VimState>();
  /** Monitors whose writes were fenced off for good: what they report is not kept (their worker stops them at its next heartbeat). */
  private readonly fencedMonitors = new Map<string, string>();
  private readonly interned = new Map<string, readonly string[]>();
  private readonly pools = new BlockPools();
  private readonly spans: MaintenanceSpans | undefined;
  private readonly errors: BackgroundErrors;
  private readonly task: PeriodicTask;
  private readonly timer: Timer;
  private readonly batchSize: number;
  private hourTimer: unknown;
  private queue: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private ended = false;

  constructor(
    private readonly options: HistoryRecorderOptions,
    private readonly deps: HistoryRecorderDeps,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.timer = deps.timer ?? systemTimer;
    // Rounds reach back at most a stall gap; an hour of look-back covers every sane interval.
    this.spans = deps.maintenance && new MaintenanceSpans(deps.maintenance, HOUR_MS);
    this.errors = new BackgroundErrors('history', {
      logger: deps.logger,
      clock: deps.clock,
      metrics: deps.metrics,
      outageMessage: 'history: database unavailable; status history kept in memory and written when it returns',
    });
    this.task = new PeriodicTask({
      intervalMs: options.flushIntervalMs,
      run: () => this.exclusive(() => this.pass(undefined)),
      errors: this.errors,
      ...(deps.timer && { timer: deps.timer }),
    });
  }

  /** The handle a VIM's monitor reports through. */
  track(vimId: string, monitorId: string, tenantId: string): VimHistory {
    return new VimHistory(this, vimId, monitorId, tenantId);
  }

  start(): void {
    if (this.ended) return;
    this.task.start();
    this.armHourEnd();
  }

  /** Writes every VIM with news now (tests, and the hour-end flush). Outages are logged and kept for later; anything else rejects. */
  async flush(): Promise<void> {
    await this.exclusive(async () => {
      try {
        await this.pass(undefined);
        this.errors.succeeded();
      } catch (error) {
        if (this.errors.failed(error) === 'unexpected') throw error;
      }
    });
  }

  /** VIMs this worker no longer monitors (handed to another worker): their history is written now, then forgotten. */
  async release(vimIds: Iterable<string>): Promise<void> {
    const only = new Set<string>();
    for (const vimId of vimIds) {
      this.fencedMonitors.delete(vimId);
      const state = this.states.get(vimId);
      if (!state) continue;
      state.released = true;
      only.add(vimId);
    }
    if (only.size === 0 || this.ended) return;
    await this.exclusive(async () => {
      try {
        await this.pass(only);
        this.errors.succeeded();
      } catch (error) {
        // Kept (released) for the next flush; the caller hands the VIMs back either way.
        this.errors.failed(error);
      }
    });
  }

  /** A deleted VIM (or one whose lease another worker holds): nothing more is written for it. */
  forget(vimId: string): void {
    const state = this.states.get(vimId);
    if (state) this.drop(state);
    this.fencedMonitors.delete(vimId);
  }

  private drop(state: VimState): void {
    state.live = false;
    this.states.delete(state.vimId);
    for (const block of state.days) block.release();
    state.days = NO_DAYS;
  }

  /** Graceful: the flush loop stops, everything is written once more (an outage keeps nothing: the process is going), idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopTimers();
      await this.task.stop();
      await this.exclusive(async () => {
        try {
          await this.pass(undefined);
          this.errors.succeeded();
        } catch (error) {
          this.errors.failed(error, { vims: this.states.size }, 'history: final flush failed');
        }
      });
      this.ended = true;
      this.states.clear();
    })();
    return this.closing;
  }

  /** Abrupt: stops at once, writes nothing more; idempotent. */
  destroy(): void {
    this.ended = true;
    this.stopTimers();
    void this.task.stop();
    this.states.clear();
    this.fencedMonitors.clear();
  }

  /** For operators and the memory measurement: VIMs with history in memory and their days. */
  stats(): { vims: number; days: number } {
    let days = 0;
    for (const state of this.states.values()) days += state.days.length;
    return { vims: this.states.size, days };
  }

  // ---- the hot path: one call per probe and one per round, nothing allocated unless a VIM, a day or a probe is new

  /** @internal through VimHistory */
  checked(handle: VimHistory, probe: string, ok: boolean, latencyMs: number | undefined, atMs: number): void {
    const state = this.stateOf(handle);
    if (!state) return;
    const hour = Math.floor(atMs / HOUR_MS);
    if (hour !== state.histHour) {
      this.closeHour(state);
      state.histHour = hour;
    }
    const p = this.probeIndex(state, probe);
    this.blockFor(state, Math.floor(hour / 24)).check(p, hour % 24, ok, latencyMs);
  }

  /** @internal through VimHistory */
  roundEnded(handle: VimHistory, held: VimStatus, atMs: number, timing: RoundTiming, conditionsChanged: boolean): void {
    const state = this.stateOf(handle);
    if (!state) return;
    const last = state.lastEndMs;
    if (atMs > last && atMs - last <= (2 * timing.interval + timing.timeout) * 1000) this.attribute(state, held, last, atMs);
    if (!(atMs <= last)) state.lastEndMs = atMs;
    if (conditionsChanged) this.blockFor(state, Math.floor(atMs / DAY_MS)).addConditionChanges(Math.floor(atMs / HOUR_MS) % 24, 1);
  }

  private stateOf(handle: VimHistory): VimState | undefined {
    if (this.ended) return undefined;
    // The common call: the state this handle saw last is still the VIM's and its monitor's.
    const known = handle.state;
    if (known !== undefined && known.live && known.monitorId === handle.monitorId) {
      known.released = false;
      return known;
    }
    handle.state = this.lookUp(handle);
    return handle.state;
  }

  private lookUp(handle: VimHistory): VimState | undefined {
    let state = this.states.get(handle.vimId);
    if (!state) {
      if (this.fencedMonitors.get(handle.vimId) === handle.monitorId) return undefined;
      state = new VimState(handle.vimId, handle.monitorId, handle.tenantId);
      this.states.set(handle.vimId, state);
      return state;
    }
    if (state.monitorId !== handle.monitorId) {
      state.monitorId = handle.monitorId;
      state.idUnconfirmed = true;
      state.fencedFlushes = 0;
    }
    state.released = false;
    return state;
  }

  /** [fromMs, toMs) in status `held`, cut at hours (and so at days). */
  private attribute(state: VimState, held: VimStatus, fromMs: number, toMs: number): void {
    const field = held === 'REACHABLE' ? REACHABLE : held === 'UNREACHABLE' ? UNREACHABLE : PENDING;
    const maintenanceField = held === 'REACHABLE' ? MAINTENANCE_REACHABLE : MAINTENANCE_UNREACHABLE;
    let start = fromMs;
    while (start < toMs) {
      const hour = Math.floor(start / HOUR_MS);
      const end = Math.min(toMs, (hour + 1) * HOUR_MS);
      const block = this.blockFor(state, Math.floor(hour / 24));
      block.addMs(hour % 24, field, end - start);
      if (field !== PENDING && this.spans) {
        const inside = this.spans.insideMs(state.vimId, state.tenantId, start, end);
        if (inside > 0) block.addMs(hour % 24, maintenanceField, inside);
      }
      start = end;
    }
  }

  private probeIndex(state: VimState, probe: string): number {
    const probes = state.probes;
    for (let i = 0; i < probes.length; i++) if (probes[i] === probe) return i;
    // A probe new to this VIM (its first round, or its settings gained one): the only growth on this path.
    const names = [...probes, probe];
    const key = names.join('\u0000');
    let shared = this.interned.get(key);
    if (!shared) this.interned.set(key, (shared = names));
    state.probes = shared;
    for (const block of state.days) block.grow(this.pools, shared.length);
    return shared.length - 1;
  }

  private blockFor(state: VimState, day: number): DayBlock {
    const days = state.days;
    for (let i = days.length - 1; i >= 0; i--) if (days[i]!.day === day) return days[i]!;
    const block = new DayBlock(day, this.pools, state.probes.length);
    // concat() makes an array of the exact length: push() and spreading reserve room for 16 more (~70 bytes per VIM).
    state.days = days.concat(block).sort((a, b) => a.day - b.day);
    return block;
  }

  /** The hour of the histograms is over: its percentiles go into its day (weighed with a stored part of the same hour). */
  private closeHour(state: VimState): void {
    const hour = state.histHour;
    if (Number.isNaN(hour)) return;
    state.days.find((candidate) => candidate.day === Math.floor(hour / 24))?.closeHour(hour % 24);
    state.histHour = Number.NaN;
  }

  // ---- flushing

  /** One flush of every VIM with news (or of `only`), in batches: read what is stored for new days, add it in, save. */
  private async pass(only: ReadonlySet<string> | undefined): Promise<void> {
    const nowMs = this.deps.clock.now().getTime();
    const nowHour = Math.floor(nowMs / HOUR_MS);
    const due: VimState[] = [];
    for (const state of this.states.values()) {
      if (only && !only.has(state.vimId)) continue;
      // No check of an hour that is over can come any more: its percentiles are final.
      if (state.histHour < nowHour) this.closeHour(state);
      if (state.dirty() || state.released) due.push(state);
    }
    for (let start = 0; start < due.length; start += this.batchSize) {
      // 10,000 VIMs are 20 batches: the rounds due meanwhile go between them, not after the last.
      if (start > 0) await nextTurn();
      await this.write(due.slice(start, start + this.batchSize), nowMs);
    }
  }

  private async write(batch: VimState[], nowMs: number): Promise<void> {
    await this.addStoredDays(batch);
    const entries: OwnedHistoryDay[] = [];
    const written: Array<{ state: VimState; block: DayBlock; version: number }> = [];
    for (const state of batch) {
      if (this.states.get(state.vimId) !== state) continue;
      for (const block of state.days) {
        if (!block.dirty || !block.based) continue;
        const openHour = !Number.isNaN(state.histHour) && Math.floor(state.histHour / 24) === block.day ? state.histHour % 24 : -1;
        const day = block.toSaved(state.vimId, state.probes, nowMs, openHour);
        entries.push({ monitorId: state.monitorId, day });
        written.push({ state, block, version: block.version });
      }
    }
    const fenced = new Set(entries.length > 0 ? await this.deps.store.save(entries) : []);
    for (const { state, block, version } of written) if (!fenced.has(state.vimId)) block.savedVersion = version;
    let dropped = 0;
    for (const state of batch) {
      if (this.states.get(state.vimId) !== state) continue;
      if (fenced.has(state.vimId)) {
        if (this.fenced(state)) dropped += 1;
        continue;
      }
      state.idUnconfirmed = false;
      state.fencedFlushes = 0;
      // A day before the one of the last round ended gets nothing more once written.
      const lastDay = Math.floor(state.lastEndMs / DAY_MS);
      const kept = state.days.filter((block) => block.dirty || !(block.day < lastDay) || Math.floor(state.histHour / 24) === block.day);
      if (kept.length < state.days.length) {
        for (const block of state.days) if (!kept.includes(block)) block.release();
        // Exact length (filter's result keeps spare room): the one or two days stay for hours.
        state.days = kept.length === 0 ? NO_DAYS : kept.slice();
      }
      if (state.released && !state.dirty()) this.drop(state);
    }
    if (dropped > 0) this.deps.logger.info({ vims: dropped }, 'history: VIMs taken over by another monitor; their history here dropped, the new owner carries it on');
  }

  /** Before the first write of a day: what is stored for it, read in one query per day and added in. */
  private async addStoredDays(batch: readonly VimState[]): Promise<void> {
    const byDay = new Map<number, VimState[]>();
    for (const state of batch) {
      for (const block of state.days) {
        if (block.based || !block.dirty) continue;
        const states = byDay.get(block.day);
        if (states) states.push(state);
        else byDay.set(block.day, [state]);
      }
    }
    for (const [day, all] of byDay) {
      for (let start = 0; start < all.length; start += STORED_READ_CHUNK) {
        const states = all.slice(start, start + STORED_READ_CHUNK);
        const stored = await this.deps.store.read(
          states.map((state) => state.vimId),
          day,
          day,
        );
        this.addStored(day, states, stored);
      }
    }
  }

  /** Adds what is stored for these VIMs' `day` to their blocks (read in the store's order; a VIM without a stored row starts from nothing). */
  private addStored(day: number, states: readonly VimState[], stored: readonly HistoryDay[]): void {
    const byVim = new Map(stored.map((row) => [row.vimId, row]));
    for (const state of states) {
      // Rounds went on while the read was out: the state may be gone (forgotten, fenced), the block still waits.
      if (this.states.get(state.vimId) !== state) continue;
      const block = state.days.find((candidate) => candidate.day === day);
      if (!block || block.based) continue;
      const row = byVim.get(state.vimId);
      if (row) {
        for (const [name, stats] of Object.entries(row.probes)) if (stats) this.probeIndex(state, name);
        if (row.hours) for (const hour of row.hours) if (hour) for (const name of Object.keys(hour.probes)) this.probeIndex(state, name);
        const openHour = !Number.isNaN(state.histHour) && Math.floor(state.histHour / 24) === day ? state.histHour % 24 : -1;
        block.addStored(row, state.probes, openHour);
      }
      block.based = true;
    }
  }

  /** True when the VIM's history is dropped: another monitor owns it. A replacement's id may still be on its way to the store: then the write is tried again. */
  private fenced(state: VimState): boolean {
    if (state.idUnconfirmed && state.fencedFlushes < FENCED_RETRIES) {
      state.fencedFlushes += 1;
      return false;
    }
    this.drop(state);
    if (!state.released) this.fencedMonitors.set(state.vimId, state.monitorId);
    return true;
  }

  private exclusive(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A flush shortly after every hour ends (the day's last one after midnight), besides the regular ones. */
  private armHourEnd(): void {
    if (this.ended || this.closing) return;
    const nowMs = this.deps.clock.now().getTime();
    let dueMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS + this.options.hourEndGraceMs;
    if (dueMs <= nowMs) dueMs += HOUR_MS;
    this.hourTimer = this.timer.set(() => {
      this.hourTimer = undefined;
      this.task.wake();
      this.armHourEnd();
    }, dueMs - nowMs);
  }

  private stopTimers(): void {
    if (this.hourTimer !== undefined) this.timer.clear(this.hourTimer);
    this.hourTimer = undefined;
  }
}
