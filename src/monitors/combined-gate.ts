import type { DownVerdict, GateDecision, VerdictGate } from './verdict-gate.js';

/**
 * The confirmation by other workers and this worker's isolation guard as one
 * gate (issue 11). Confirmation is asked first: it starts its requests on
 * the first review, and a verdict other workers confirmed passes even an
 * isolated worker (a genuine outage stays reportable). Otherwise the guard
 * may hold what confirmation would let through, e.g. a verdict the owner
 * "decided alone" because its own link to the other workers is cut.
 */
export function combineGates(confirmation: VerdictGate | undefined, guard: VerdictGate | undefined): VerdictGate | undefined {
  if (!confirmation || !guard) return confirmation ?? guard;
  return {
    review(verdict: DownVerdict): GateDecision {
      const confirmed = confirmation.review(verdict);
      if (confirmed.verdict === 'apply' && (confirmed.confirmedBy ?? 0) > 0) return confirmed;
      const guarded = guard.review(verdict);
      if (guarded.verdict === 'apply') return confirmed;
      return confirmed.verdict === 'hold' ? { verdict: 'hold', reason: `${guarded.reason}; ${confirmed.reason}` } : guarded;
    },
    settled(vimId: string): void {
      confirmation.settled?.(vimId);
      guard.settled?.(vimId);
    },
  };
}
