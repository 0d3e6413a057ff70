import type { Vantage } from './selection.js';

/** What an asked worker's probes said. */
export interface ConfirmAnswer {
  down: boolean;
  reason: string;
}

/** What the answers so far say about a down verdict. */
export type TallyOutcome =
  /** Quorum reached: the VIM is down from elsewhere too. */
  | { kind: 'confirmed'; by: Vantage[]; asked: number; silent: Vantage[]; deadlinePassed: boolean }
  /** Quorum out of reach: enough workers reached the VIM that the owner's view is its own. */
  | { kind: 'refuted'; down: Vantage[]; up: Vantage[]; asked: number; needed: number; silent: Vantage[] }
  /** Nobody answered by the deadline: the owner decides alone. */
  | { kind: 'unanswered'; asked: Vantage[] }
  | { kind: 'pending' };

/**
 * The quorum rule. `quorum` counts other workers that must find the VIM down
 * (the owner's own verdict is given), capped by how many could be asked.
 * Before the deadline the outcome is decided as soon as it can no longer
 * change; at the deadline only those who answered count (a worker that died
 * meanwhile neither blocks nor confirms), and with no answer at all the
 * owner decides alone.
 */
export function tally(asked: readonly Vantage[], answers: ReadonlyMap<string, ConfirmAnswer>, quorum: number, deadlinePassed: boolean): TallyOutcome {
  const down = asked.filter((worker) => answers.get(worker.id)?.down === true);
  const up = asked.filter((worker) => answers.get(worker.id)?.down === false);
  const silent = asked.filter((worker) => !answers.has(worker.id));
  const needed = Math.min(quorum, asked.length);
  if (down.length >= needed) return { kind: 'confirmed', by: down, asked: asked.length, silent, deadlinePassed };
  if (up.length > asked.length - needed) return { kind: 'refuted', down, up, asked: asked.length, needed, silent };
  if (!deadlinePassed) return { kind: 'pending' };
  const answered = down.length + up.length;
  if (answered === 0) return { kind: 'unanswered', asked: [...asked] };
  const neededOfAnswered = Math.min(quorum, answered);
  if (down.length >= neededOfAnswered) return { kind: 'confirmed', by: down, asked: asked.length, silent, deadlinePassed };
  return { kind: 'refuted', down, up, asked: asked.length, needed: neededOfAnswered, silent };
}

/** `w2 (zone b)`, or `w2` without a zone. */
export function describeWorker(worker: Vantage): string {
  return worker.zone === null ? worker.id : `${worker.id} (zone ${worker.zone})`;
}

/** The event note of a confirmed verdict: `confirmed by 2 of 2 workers in zones b, c: w2, w3`. */
export function confirmedNote(outcome: Extract<TallyOutcome, { kind: 'confirmed' }>): string {
  const zones = [...new Set(outcome.by.map((worker) => worker.zone).filter((zone): zone is string => zone !== null))].sort();
  const where = zones.length === 0 ? '' : zones.length === 1 ? ` in zone ${zones[0]}` : ` in zones ${zones.join(', ')}`;
  // Confirmed before the deadline: the quorum was met without waiting for the rest.
  const ids = outcome.silent.map((w) => w.id).join(', ');
  const silent = outcome.silent.length === 0 ? '' : outcome.deadlinePassed ? `; no answer by the deadline from ${ids}` : `; ${ids} had not answered yet`;
  const workers = outcome.asked === 1 ? 'worker' : 'workers';
  return `confirmed by ${outcome.by.length} of ${outcome.asked} ${workers}${where}: ${outcome.by.map((w) => w.id).sort().join(', ')}${silent}`;
}

/** The hold reason of a refuted verdict: who reached the VIM. */
export function refutedReason(outcome: Extract<TallyOutcome, { kind: 'refuted' }>): string {
  const reached = [...outcome.up].sort((a, b) => a.id.localeCompare(b.id)).map(describeWorker).join(', ');
  const silent = outcome.silent.length > 0 ? `; no answer from ${outcome.silent.map((w) => w.id).join(', ')}` : '';
  return `not confirmed by other workers: ${outcome.down.length} of ${outcome.asked} found it down, ${outcome.needed} needed; reached from ${reached}${silent}`;
}
