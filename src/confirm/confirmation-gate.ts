import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DownVerdict, GateDecision, VerdictGate } from '../monitors/verdict-gate.js';
import type { ConfirmationRow, NewConfirmation } from '../store/confirmation-repository.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { chooseConfirmers, type Vantage } from './selection.js';
import { effectiveConfirm, type ConfirmSettings } from './settings.js';
import { confirmedNote, describeWorker, refutedReason, tally, type ConfirmAnswer } from './tally.js';

/** One round of asking other workers about one VIM. */
interface Ask {
  asked: Vantage[];
  /** Row id per asked worker. */
  rows: Map<string, string>;
  answers: Map<string, ConfirmAnswer>;
  quorum: number;
  startedAtMs: number;
  deadlineAtMs: number;
}

interface VimState {
  ask?: Ask;
  /** The last ask found the VIM up elsewhere: the hold reason, and when (the owner asks again after `recheck`). */
  refuted?: { atMs: number; reason: string };
}

export interface ConfirmationStats {
  enabled: boolean;
  zone: string | null;
  /** Other live workers as last read from the workers table. */
  live_workers: Vantage[];
  /** VIMs whose down verdict waits for answers now. */
  waiting: number;
  /** VIMs held because other workers reached them. */
  refuted_now: number;
  asks: number;
  confirmed: number;
  refuted: number;
  decided_alone_no_worker: number;
  decided_alone_no_answer: number;
  /** From a first review to the decision that applied a confirmed verdict (ms): the added detection latency. */
  last_confirm_ms: number | null;
  max_confirm_ms: number | null;
}

export interface ConfirmationGateDeps {
  self: string;
  zone: string | null;
  settings: ConfirmSettings;
  /** The monitor timeout when a verdict carries no settings (tests). */
  defaultTimeoutSeconds: number;
  clock: Clock;
  logger: Logger;
  /** Called when asks are queued, so that the poller writes them now rather than at its next pass. */
  onAsk?(): void;
  newId?: () => string;
}

/**
 * Confirmation from other vantage points as a verdict gate (issue 11). The
 * first review of a down verdict picks other live workers (other zones
 * first), queues one request row per worker and holds; the poller
 * (confirmation-poller.ts) writes the rows and brings the answers back into
 * memory, and a later review (the monitor's next round) decides by the
 * quorum. Review never waits and never touches the database: it reads only
 * what the poller has cached.
 */
export class ConfirmationGate implements VerdictGate {
  private readonly states = new Map<string, VimState>();
  /** Row id → VIM, for the answers that come back. */
  private readonly rowVims = new Map<string, string>();
  private queued: NewConfirmation[] = [];
  private removals: string[] = [];
  private live: Vantage[] = [];
  private liveKnown = false;
  private readonly newId: () => string;
  private readonly counters = { asks: 0, confirmed: 0, refuted: 0, aloneNoWorker: 0, aloneNoAnswer: 0 };
  private lastConfirmMs: number | null = null;
  private maxConfirmMs: number | null = null;

  constructor(private readonly deps: ConfirmationGateDeps) {
    this.newId = deps.newId ?? randomUUID;
  }

  review(verdict: DownVerdict): GateDecision {
    const settings = effectiveConfirm(this.deps.settings, verdict.settings?.confirm, verdict.settings?.timeout ?? this.deps.defaultTimeoutSeconds);
    if (!settings.enabled) return { verdict: 'apply' };
    // Only a required deep check failed: the VIM answered this worker, so the failure is the VIM's, not the path's
    // (and the asked workers, which run the fast probes only, would find it up).
    if (verdict.failedProbes?.length === 0) return { verdict: 'apply' };
    const nowMs = this.deps.clock.now().getTime();
    const state = this.states.get(verdict.vimId) ?? {};
    this.states.set(verdict.vimId, state);
    if (state.ask) return this.decide(verdict.vimId, state, state.ask, nowMs);
    if (state.refuted && nowMs - state.refuted.atMs < this.deps.settings.recheck * 1000) return { verdict: 'hold', reason: state.refuted.reason };

    const asked = chooseConfirmers({ id: this.deps.self, zone: this.deps.zone }, this.live, settings.count, verdict.vimId);
    if (asked.length === 0) {
      this.states.delete(verdict.vimId);
      this.counters.aloneNoWorker += 1;
      return { verdict: 'apply', note: this.liveKnown ? 'decided alone: no other live worker' : 'decided alone: other workers unknown (database unavailable)' };
    }
    const ask: Ask = { asked, rows: new Map(), answers: new Map(), quorum: settings.quorum, startedAtMs: nowMs, deadlineAtMs: nowMs + settings.deadlineMs };
    for (const worker of asked) {
      const id = this.newId();
      ask.rows.set(worker.id, id);
      this.rowVims.set(id, verdict.vimId);
      this.queued.push({ id, vimId: verdict.vimId, worker: worker.id, deadlineMs: ask.deadlineAtMs });
    }
    state.ask = ask;
    this.counters.asks += 1;
    this.deps.onAsk?.();
    // While asking again after a refutation, the last known word stays the reason (no flip-flop in the view and the log).
    return { verdict: 'hold', reason: state.refuted?.reason ?? this.waitingReason(ask) };
  }

  settled(vimId: string): void {
    const state = this.states.get(vimId);
    if (!state) return;
    if (state.ask) this.finish(state.ask);
    this.states.delete(vimId);
  }

  // --- for the poller ---

  /** Other live workers (this one may be in the list: it is never asked). */
  setLive(workers: readonly Vantage[]): void {
    this.live = workers.filter((worker) => worker.id !== this.deps.self);
    this.liveKnown = true;
  }

  /** Rows to write now. */
  takeAsks(): NewConfirmation[] {
    const asks = this.queued;
    this.queued = [];
    return asks;
  }

  /** Rows to delete (decided, settled, or answers nobody waits for). */
  takeRemovals(): string[] {
    const ids = this.removals;
    this.removals = [];
    return ids;
  }

  /** Puts asks back whose write failed, unless their VIM has been settled meanwhile. */
  retryAsks(asks: readonly NewConfirmation[]): void {
    this.queued.push(...asks.filter((ask) => this.rowVims.has(ask.id)));
  }

  /** Whether any answer is still to be read (the poll then reads answers too). */
  waiting(): boolean {
    return this.rowVims.size > 0;
  }

  /**
   * Answers read by the poller: cached for the next review, and their rows deleted at once, so that the next
   * poll reads only new answers (a burst of thousands is read once, never the same oldest ones again).
   */
  received(rows: readonly ConfirmationRow[]): void {
    for (const row of rows) {
      const vimId = this.rowVims.get(row.id);
      const ask = vimId === undefined ? undefined : this.states.get(vimId)?.ask;
      this.removals.push(row.id);
      this.rowVims.delete(row.id);
      if (ask && row.answer && ask.rows.get(row.worker) === row.id) ask.answers.set(row.worker, { down: row.answer.down, reason: row.answer.reason });
    }
  }

  stats(): ConfirmationStats {
    let waiting = 0;
    let refutedNow = 0;
    for (const state of this.states.values()) {
      if (state.ask) waiting += 1;
      else if (state.refuted) refutedNow += 1;
    }
    return {
      enabled: this.deps.settings.enabled,
      zone: this.deps.zone,
      live_workers: this.live,
      waiting,
      refuted_now: refutedNow,
      asks: this.counters.asks,
      confirmed: this.counters.confirmed,
      refuted: this.counters.refuted,
      decided_alone_no_worker: this.counters.aloneNoWorker,
      decided_alone_no_answer: this.counters.aloneNoAnswer,
      last_confirm_ms: this.lastConfirmMs,
      max_confirm_ms: this.maxConfirmMs,
    };
  }

  private decide(vimId: string, state: VimState, ask: Ask, nowMs: number): GateDecision {
    const outcome = tally(ask.asked, ask.answers, ask.quorum, nowMs >= ask.deadlineAtMs);
    if (outcome.kind === 'pending') return { verdict: 'hold', reason: state.refuted?.reason ?? this.waitingReason(ask) };
    this.finish(ask);
    state.ask = undefined;
    if (outcome.kind === 'refuted') {
      this.counters.refuted += 1;
      state.refuted = { atMs: nowMs, reason: refutedReason(outcome) };
      return { verdict: 'hold', reason: state.refuted.reason };
    }
    this.states.delete(vimId);
    const tookMs = nowMs - ask.startedAtMs;
    if (outcome.kind === 'unanswered') {
      this.counters.aloneNoAnswer += 1;
      this.deps.logger.warn({ vim_id: vimId, asked: ask.asked.map((w) => w.id) }, 'no confirmation by the deadline: the owner decides alone');
      return { verdict: 'apply', note: `decided alone: no answer by the deadline from ${ask.asked.map((w) => w.id).join(', ')}` };
    }
    this.counters.confirmed += 1;
    this.lastConfirmMs = tookMs;
    this.maxConfirmMs = Math.max(this.maxConfirmMs ?? 0, tookMs);
    return { verdict: 'apply', note: confirmedNote(outcome), confirmedBy: outcome.by.length };
  }

  /** The ask is over: its rows go (answered or not), and answers still on their way are dropped when they come. */
  private finish(ask: Ask): void {
    for (const id of ask.rows.values()) {
      this.rowVims.delete(id);
      this.removals.push(id);
    }
    const ids = new Set(ask.rows.values());
    this.queued = this.queued.filter((queued) => !ids.has(queued.id));
  }

  private waitingReason(ask: Ask): string {
    return `waiting for confirmation from ${ask.asked.map(describeWorker).join(', ')} (quorum ${Math.min(ask.quorum, ask.asked.length)}, answers due by ${tackerTimestamp(new Date(ask.deadlineAtMs))})`;
  }
}
