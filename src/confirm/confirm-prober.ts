import type { Logger } from 'pino';
import type { Probe, ProbeName, ProbeOutcome } from '../probes/probe.js';
import { probeTargetOf } from '../probes/target.js';
import type { MonitorSettings } from '../monitors/settings.js';
import type { ConfirmationRow } from '../store/confirmation-repository.js';
import type { VimRecord } from '../vims/model.js';
import type { Clock } from '../time/clock.js';
import { deadline } from '../time/deadline.js';

/** How long a finished answer waits for others to go out with it. */
const FLUSH_DELAY_MS = 10;

export interface ConfirmProberDeps {
  probes: ReadonlyMap<ProbeName, Probe>;
  /** The VIMs of a batch of requests, in one read. */
  loadVims(ids: string[]): Promise<VimRecord[]>;
  /** Decrypts a VIM's credentials, as the manager does for its own monitors. */
  credentialsOf(vim: VimRecord): Record<string, string>;
  /** The VIM's effective monitor settings, as its owner runs them. */
  settingsOf(vim: VimRecord): MonitorSettings;
  /** Whether this worker runs the VIM's monitor itself (then the probes keep what they cached for it). */
  owns(vimId: string): boolean;
  /** Writes answers (grouped: see ConfirmationRepository.answerMany). */
  answer(answers: Array<{ id: string; down: boolean; reason: string }>, atMs: number): Promise<void>;
  clock: Clock;
  logger: Logger;
}

/**
 * The asked side of a confirmation: probes each requested VIM once, with the
 * VIM's own probes, settings and credentials (the very checks its owner
 * runs, from here), and writes the answer in the request row. A VIM that is
 * gone answers down with that reason: the owner's verdict then stands.
 */
export class ConfirmProber {
  private readonly inFlight = new Set<string>();
  /** Rows this worker could not probe: not taken again (the owner decides without this worker's vote). */
  private readonly skipped = new Set<string>();
  private answeredCount = 0;
  private pending: Array<{ row: ConfirmationRow; down: boolean; reason: string; resolve: () => void }> = [];
  private flushing = false;

  constructor(private readonly deps: ConfirmProberDeps) {}

  get answered(): number {
    return this.answeredCount;
  }

  /**
   * Starts probing the rows not already in flight, up to `limit` in flight; says how many it started, and `done`
   * settles when their answers are written (the poller does not wait for it).
   */
  probe(rows: readonly ConfirmationRow[], limit: number): { started: number; done: Promise<void> } {
    const fresh = rows.filter((row) => !this.inFlight.has(row.id) && !this.skipped.has(row.id)).slice(0, Math.max(0, limit - this.inFlight.size));
    for (const row of fresh) this.inFlight.add(row.id);
    return { started: fresh.length, done: fresh.length === 0 ? Promise.resolve() : this.run(fresh) };
  }

  private async run(fresh: readonly ConfirmationRow[]): Promise<void> {
    try {
      const vims = new Map((await this.deps.loadVims([...new Set(fresh.map((row) => row.vimId))])).map((vim) => [vim.id, vim]));
      await Promise.all(fresh.map((row) => this.probeOne(row, vims.get(row.vimId))));
    } finally {
      for (const row of fresh) this.inFlight.delete(row.id);
    }
  }

  private async probeOne(row: ConfirmationRow, vim: VimRecord | undefined): Promise<void> {
    const seen = vim ? await this.check(vim, row.deadlineMs) : { down: true, reason: 'VIM not found' };
    if (!seen) {
      // Rows live for a deadline: a set of that many is small; it is emptied rather than trimmed.
      if (this.skipped.size > 10_000) this.skipped.clear();
      this.skipped.add(row.id);
      return;
    }
    await new Promise<void>((resolve) => {
      this.pending.push({ row, ...seen, resolve });
      this.flushSoon();
    });
  }

  /** Answers that finish within a few milliseconds of each other go out together. */
  private flushSoon(): void {
    if (this.flushing) return;
    this.flushing = true;
    setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  private async flush(): Promise<void> {
    const batch = this.pending.splice(0);
    try {
      await this.deps.answer(batch.map(({ row, down, reason }) => ({ id: row.id, down, reason })), this.deps.clock.now().getTime());
      this.answeredCount += batch.length;
    } catch (error) {
      // The owners decide without these answers at their deadlines.
      this.deps.logger.warn({ answers: batch.length, err: error }, 'could not write confirmation answers');
    } finally {
      for (const { resolve } of batch) resolve();
      this.flushing = false;
      if (this.pending.length > 0) this.flushSoon();
    }
  }

  private async check(vim: VimRecord, deadlineMs: number): Promise<{ down: boolean; reason: string } | undefined> {
    let settings: MonitorSettings;
    let outcomes: Array<[ProbeName, ProbeOutcome]>;
    try {
      settings = this.deps.settingsOf(vim);
      const target = probeTargetOf(vim, this.deps.credentialsOf(vim));
      // The VIM's own timeout, cut to the deadline: an answer after it is of no use to the owner.
      const budgetMs = Math.max(50, Math.min(settings.timeout * 1000, deadlineMs - this.deps.clock.now().getTime()));
      // A deadline() signal says when it aborts: the native probe engine takes it as a number, with no listener.
      const { signal } = deadline(budgetMs);
      outcomes = await Promise.all(
        settings.probes.map(async (name): Promise<[ProbeName, ProbeOutcome]> => {
          const probe = this.deps.probes.get(name);
          return [name, probe ? await probe.check(target, signal) : { ok: false, reason: `probe ${name} is not available in this process` }];
        }),
      );
    } catch (error) {
      // Credentials that cannot be opened here say nothing about the VIM: no vote (the owner counts this worker as silent).
      this.deps.logger.error({ vim_id: vim.id, err: error }, 'confirmation probe could not run: no answer given');
      return undefined;
    } finally {
      if (!this.deps.owns(vim.id)) for (const probe of this.deps.probes.values()) probe.forget?.(vim.id);
    }
    const failed = outcomes.filter(([, outcome]) => !outcome.ok);
    if (failed.length > 0) return { down: true, reason: `failed: ${failed.map(([name, outcome]) => `${name}: ${outcome.reason}`).join('; ')}` };
    return { down: false, reason: `all probes succeeded: ${outcomes.map(([name, outcome]) => `${name}: ${outcome.reason}`).join('; ')}` };
  }
}
