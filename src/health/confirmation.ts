import type { ConditionResult } from './condition.js';

/** The monitor's thresholds, which conditions follow as status does. */
export interface ConfirmationThresholds {
  failure_threshold: number;
  success_threshold: number;
}

/**
 * Whether a check is shown as passing, given what is shown now and its
 * latest runs: a change is shown only once `failure_threshold` failed runs
 * (or `success_threshold` good ones) in a row confirm it, the hysteresis
 * that status has. Without it one lost ping made health DOWN and sent a
 * HEALTH event while status rightly held. The first result is shown as it
 * is, as the first verdict leaves PENDING at once.
 */
export function confirmedOk(
  shown: boolean | undefined,
  latest: { ok: boolean; consecutiveFailures: number; consecutiveSuccesses: number },
  thresholds: ConfirmationThresholds,
): boolean {
  if (shown === undefined || shown === latest.ok) return latest.ok;
  const confirmed = latest.ok ? latest.consecutiveSuccesses >= thresholds.success_threshold : latest.consecutiveFailures >= thresholds.failure_threshold;
  return confirmed ? latest.ok : shown;
}

/** Why a shown result differs from the latest one, appended to its reason (reasons are not stored on their own, so this costs no write). */
export function unconfirmedNote(latest: { ok: boolean; consecutiveFailures: number; consecutiveSuccesses: number }, thresholds: ConfirmationThresholds): string {
  return latest.ok
    ? `recovering: ${latest.consecutiveSuccesses} of ${thresholds.success_threshold} good runs`
    : `unconfirmed: ${latest.consecutiveFailures} of ${thresholds.failure_threshold} failed runs`;
}

/** One condition type's confirmed result and the runs since that disagree with it. */
interface Track {
  shown: ConditionResult;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

/**
 * The deep checks' conditions with the same hysteresis, per condition type:
 * a result enters or leaves False only when enough runs in a row say so.
 * Changes that raise no alarm (between True and Unknown, or a change of
 * severity of a failure: a certificate expiring that has now expired) are
 * shown at once; a failure whose check could not run again stays shown.
 */
export class ConditionConfirmation {
  /** Created with the first result: every VIM has one of these, most before any deep run (an empty Map costs ~150 bytes). */
  private tracks: Map<string, Track> | undefined;

  /** Seeds what is shown from the stored conditions, so a restart does not show every unconfirmed failure at once. */
  constructor(stored: readonly ConditionResult[] = []) {
    for (const result of stored) this.track(result.type, { shown: result, consecutiveFailures: 0, consecutiveSuccesses: 0 });
  }

  /** Takes one run's results; returns what to show, in the results' order. */
  observe(results: readonly ConditionResult[], thresholds: ConfirmationThresholds): ConditionResult[] {
    const seen = new Set<string>();
    const shown = results.map((result) => {
      seen.add(result.type);
      return this.observeOne(result, thresholds);
    });
    if (this.tracks) for (const type of [...this.tracks.keys()]) if (!seen.has(type)) this.tracks.delete(type);
    return shown;
  }

  /** Whether some shown result still waits for confirmation: the caller then checks again sooner. */
  get pending(): boolean {
    if (this.tracks) for (const track of this.tracks.values()) if (track.consecutiveFailures > 0 || track.consecutiveSuccesses > 0) return true;
    return false;
  }

  /** Shows the latest results as they are (the status just changed on them: the conditions must agree with it). */
  confirmAll(latest: readonly ConditionResult[]): void {
    for (const result of latest) this.track(result.type, { shown: result, consecutiveFailures: 0, consecutiveSuccesses: 0 });
  }

  private track(type: string, track: Track): void {
    (this.tracks ??= new Map()).set(type, track);
  }

  private observeOne(result: ConditionResult, thresholds: ConfirmationThresholds): ConditionResult {
    const track = this.tracks?.get(result.type);
    // A failure that could not be checked again has not been seen to recover: it stays shown.
    if (track?.shown.status === 'False' && result.status === 'Unknown') return { ...track.shown, reason: `${track.shown.reason} (latest: ${result.reason})` };
    if (!track || !crossesFalse(track.shown, result)) {
      this.track(result.type, { shown: result, consecutiveFailures: 0, consecutiveSuccesses: 0 });
      return result;
    }
    const failing = result.status === 'False';
    track.consecutiveFailures = failing ? track.consecutiveFailures + 1 : 0;
    track.consecutiveSuccesses = failing ? 0 : track.consecutiveSuccesses + 1;
    const latest = { ok: !failing, consecutiveFailures: track.consecutiveFailures, consecutiveSuccesses: track.consecutiveSuccesses };
    if (confirmedOk(track.shown.status !== 'False', latest, thresholds) === !failing) {
      this.track(result.type, { shown: result, consecutiveFailures: 0, consecutiveSuccesses: 0 });
      return result;
    }
    return { ...track.shown, reason: `${track.shown.reason} (latest: ${result.reason}; ${unconfirmedNote(latest, thresholds)})` };
  }
}

/** A change into False, or out of False into True: the changes that raise or clear an alarm. */
function crossesFalse(shown: ConditionResult, latest: ConditionResult): boolean {
  if (shown.status === 'False') return latest.status === 'True';
  return latest.status === 'False';
}
