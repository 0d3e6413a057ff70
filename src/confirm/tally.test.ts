import { describe, expect, it } from 'vitest';
import type { Vantage } from './selection.js';
import { confirmedNote, refutedReason, tally, type ConfirmAnswer } from './tally.js';

const b: Vantage = { id: 'w2', zone: 'b' };
const c: Vantage = { id: 'w3', zone: 'c' };
const down: ConfirmAnswer = { down: true, reason: 'failed: tcp: connection refused' };
const up: ConfirmAnswer = { down: false, reason: 'all probes succeeded: tcp: connected' };
const answers = (entries: Array<[Vantage, ConfirmAnswer]>) => new Map(entries.map(([worker, answer]) => [worker.id, answer]));

describe('the quorum of confirmation answers', () => {
  it('confirms as soon as quorum workers found the VIM down, without waiting for the rest', () => {
    const outcome = tally([b, c], answers([[b, down]]), 1, false);
    expect(outcome).toMatchObject({ kind: 'confirmed', asked: 2 });
    if (outcome.kind !== 'confirmed') throw new Error(outcome.kind);
    expect(outcome.by.map((w) => w.id)).toEqual(['w2']);
    expect(confirmedNote(outcome)).toBe('confirmed by 1 of 2 workers in zone b: w2; w3 had not answered yet');
  });

  it('names the confirmers and their zones in the event note', () => {
    const outcome = tally([b, c], answers([[b, down], [c, down]]), 1, false);
    if (outcome.kind !== 'confirmed') throw new Error(outcome.kind);
    expect(confirmedNote(outcome)).toBe('confirmed by 2 of 2 workers in zones b, c: w2, w3');
  });

  it('refutes as soon as the quorum is out of reach: with quorum 1 of 2, two workers that reached the VIM', () => {
    expect(tally([b, c], answers([[b, up]]), 1, false)).toEqual({ kind: 'pending' });
    const outcome = tally([b, c], answers([[b, up], [c, up]]), 1, false);
    expect(outcome.kind).toBe('refuted');
    if (outcome.kind !== 'refuted') return;
    expect(refutedReason(outcome)).toBe('not confirmed by other workers: 0 of 2 found it down, 1 needed; reached from w2 (zone b), w3 (zone c)');
  });

  it('with quorum 2 of 2, one worker that reached the VIM is enough to hold it', () => {
    expect(tally([b, c], answers([[b, down]]), 2, false)).toEqual({ kind: 'pending' });
    expect(tally([b, c], answers([[c, up]]), 2, false).kind).toBe('refuted');
  });

  it('caps the quorum by the workers that could be asked', () => {
    expect(tally([b], answers([[b, down]]), 2, false).kind).toBe('confirmed');
  });

  it('at the deadline counts only those who answered, and with no answer at all the owner decides alone', () => {
    expect(tally([b, c], new Map(), 1, true)).toEqual({ kind: 'unanswered', asked: [b, c] });
    const lateOne = tally([b, c], answers([[b, down]]), 2, true);
    expect(lateOne.kind).toBe('confirmed');
    if (lateOne.kind === 'confirmed') expect(confirmedNote(lateOne)).toBe('confirmed by 1 of 2 workers in zone b: w2; no answer by the deadline from w3');
    expect(tally([b, c], answers([[b, up]]), 1, true).kind).toBe('refuted');
  });
});
