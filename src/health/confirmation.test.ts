import { describe, expect, it } from 'vitest';
import type { ConditionResult } from './condition.js';
import { ConditionConfirmation, confirmedOk } from './confirmation.js';

const thresholds = { failure_threshold: 3, success_threshold: 2 };
const latest = (ok: boolean, streak: number) => ({ ok, consecutiveFailures: ok ? 0 : streak, consecutiveSuccesses: ok ? streak : 0 });
const image = (status: ConditionResult['status'], reason = `image ${status}`): ConditionResult => ({
  type: 'Service:image',
  layer: 'services',
  status,
  severity: 'warning',
  reason,
});

describe('confirmedOk', () => {
  it('shows a first result as it is', () => {
    expect(confirmedOk(undefined, latest(false, 1), thresholds)).toBe(false);
    expect(confirmedOk(undefined, latest(true, 1), thresholds)).toBe(true);
  });

  it('keeps showing a pass until failure_threshold failures in a row confirm the failure', () => {
    expect(confirmedOk(true, latest(false, 1), thresholds)).toBe(true);
    expect(confirmedOk(true, latest(false, 2), thresholds)).toBe(true);
    expect(confirmedOk(true, latest(false, 3), thresholds)).toBe(false);
  });

  it('keeps showing a failure until success_threshold passes in a row confirm the recovery', () => {
    expect(confirmedOk(false, latest(true, 1), thresholds)).toBe(false);
    expect(confirmedOk(false, latest(true, 2), thresholds)).toBe(true);
  });
});

describe('ConditionConfirmation', () => {
  it('shows a new failure only after failure_threshold runs, saying meanwhile what the latest run saw', () => {
    const confirmation = new ConditionConfirmation();
    expect(confirmation.observe([image('True')], thresholds)).toEqual([image('True')]);
    const [first] = confirmation.observe([image('False', 'HTTP 503')], thresholds);
    expect(first).toEqual(image('True', 'image True (latest: HTTP 503; unconfirmed: 1 of 3 failed runs)'));
    expect(confirmation.pending).toBe(true);
    confirmation.observe([image('False', 'HTTP 503')], thresholds);
    expect(confirmation.observe([image('False', 'HTTP 503')], thresholds)).toEqual([image('False', 'HTTP 503')]);
    expect(confirmation.pending).toBe(false);
  });

  it('forgets an unconfirmed failure when a good run comes between', () => {
    const confirmation = new ConditionConfirmation([image('True')]);
    confirmation.observe([image('False')], thresholds);
    confirmation.observe([image('False')], thresholds);
    confirmation.observe([image('True')], thresholds);
    expect(confirmation.pending).toBe(false);
    expect(confirmation.observe([image('False')], thresholds)[0]!.status).toBe('True');
  });

  it('needs success_threshold good runs to clear a confirmed failure, seeded from the stored conditions', () => {
    const confirmation = new ConditionConfirmation([image('False')]);
    expect(confirmation.observe([image('True')], thresholds)[0]!.status).toBe('False');
    expect(confirmation.observe([image('True')], thresholds)[0]!.status).toBe('True');
  });

  it('keeps a failure shown while its check cannot run again, and shows Unknown at once over a pass', () => {
    const failing = new ConditionConfirmation([image('False', 'HTTP 503')]);
    expect(failing.observe([image('Unknown', 'did not finish')], thresholds)).toEqual([image('False', 'HTTP 503 (latest: did not finish)')]);
    const passing = new ConditionConfirmation([image('True')]);
    expect(passing.observe([image('Unknown')], thresholds)).toEqual([image('Unknown')]);
  });

  it('shows a change of severity of a failure at once, and the latest results as they are after confirmAll', () => {
    const confirmation = new ConditionConfirmation([image('False')]);
    const required = { ...image('False'), severity: 'error' as const };
    expect(confirmation.observe([required], thresholds)).toEqual([required]);
    confirmation.observe([image('True')], thresholds);
    confirmation.confirmAll([image('True')]);
    expect(confirmation.pending).toBe(false);
    expect(confirmation.observe([image('True')], thresholds)).toEqual([image('True')]);
  });
});
