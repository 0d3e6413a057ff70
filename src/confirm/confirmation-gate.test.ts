/**
 * The gate's own logic, in memory with a clock the test moves: what it asks,
 * when it holds, and how it decides from the answers the poller brings. The
 * database side is in confirmation-repository.test.ts; the whole loop with
 * real workers in test/e2e/confirmation.e2e.test.ts.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DownVerdict } from '../monitors/verdict-gate.js';
import { DEFAULT_MONITOR_SETTINGS } from '../monitors/settings.js';
import type { ProbeTarget } from '../probes/probe.js';
import type { ConfirmationRow, NewConfirmation } from '../store/confirmation-repository.js';
import { ConfirmationGate } from './confirmation-gate.js';
import type { ConfirmSettings } from './settings.js';

const SETTINGS: ConfirmSettings = { enabled: true, count: 2, quorum: 1, recheck: 30, poll_interval: 0.5 };

function harness(settings: Partial<ConfirmSettings> = {}) {
  let nowMs = 1_000_000;
  let ids = 0;
  let wakes = 0;
  const gate = new ConfirmationGate({
    self: 'w1',
    zone: 'a',
    settings: { ...SETTINGS, ...settings },
    defaultTimeoutSeconds: 3,
    clock: { now: () => new Date(nowMs) },
    logger: pino({ level: 'silent' }),
    onAsk: () => (wakes += 1),
    newId: () => `row-${++ids}`,
  });
  const verdict = (vimId = 'vim-1', timeout = 1): DownVerdict => ({
    vimId,
    monitorId: 'm',
    tenantId: 't',
    target: {} as ProbeTarget,
    from: 'REACHABLE',
    reason: 'failed: tcp: connection refused',
    atMs: nowMs,
    settings: { ...DEFAULT_MONITOR_SETTINGS, interval: 2, timeout },
  });
  const answer = (ask: NewConfirmation, down: boolean, zone?: string): ConfirmationRow => ({
    id: ask.id,
    vimId: ask.vimId,
    requester: 'w1',
    worker: ask.worker,
    deadlineMs: ask.deadlineMs,
    answer: { down, reason: down ? 'failed: tcp: refused' : `all probes succeeded (${zone ?? ''})`, atMs: nowMs },
  });
  return { gate, verdict, answer, advance: (ms: number) => (nowMs += ms), wakes: () => wakes };
}

describe('the confirmation gate', () => {
  it('with no other live worker applies at once and says the owner decided alone', () => {
    const { gate, verdict } = harness();
    gate.setLive([{ id: 'w1', zone: 'a' }]);
    expect(gate.review(verdict())).toEqual({ verdict: 'apply', note: 'decided alone: no other live worker' });
    expect(gate.takeAsks()).toEqual([]);
  });

  it('asks other workers (other zones first) and holds until the quorum is met, then applies with the confirmers named', () => {
    const { gate, verdict, answer, wakes } = harness();
    gate.setLive([{ id: 'w1', zone: 'a' }, { id: 'w2', zone: 'b' }, { id: 'w3', zone: 'c' }, { id: 'w4', zone: 'a' }]);
    const first = gate.review(verdict());
    expect(first.verdict).toBe('hold');
    expect(first.verdict === 'hold' && first.reason).toMatch(/^waiting for confirmation from w[23] \(zone [bc]\), w[23] \(zone [bc]\) \(quorum 1, answers due by /);
    expect(wakes()).toBe(1);
    const asks = gate.takeAsks();
    expect(asks.map((ask) => ask.worker).sort()).toEqual(['w2', 'w3']);
    // Deadline: max(2 × the VIM's timeout of 1 s, 3 s).
    expect(asks[0]!.deadlineMs).toBe(1_000_000 + 3_000);
    expect(gate.waiting()).toBe(true);

    // Asked again before any answer: still holding, nothing asked twice.
    expect(gate.review(verdict()).verdict).toBe('hold');
    expect(gate.takeAsks()).toEqual([]);

    gate.received([answer(asks[0]!, true), answer(asks[1]!, true)]);
    // Read once: the rows go at once, and the poll stops reading answers.
    expect(gate.takeRemovals().sort()).toEqual(asks.map((ask) => ask.id).sort());
    expect(gate.waiting()).toBe(false);
    const decision = gate.review(verdict());
    expect(decision).toEqual({ verdict: 'apply', note: 'confirmed by 2 of 2 workers in zones b, c: w2, w3', confirmedBy: 2 });
    expect(gate.stats()).toMatchObject({ asks: 1, confirmed: 1 });
  });

  it('holds with the reason when the other workers reach the VIM, and asks again only after recheck', () => {
    const { gate, verdict, answer, advance } = harness({ recheck: 10 });
    gate.setLive([{ id: 'w2', zone: 'b' }, { id: 'w3', zone: 'c' }]);
    gate.review(verdict());
    const asks = gate.takeAsks();
    gate.received(asks.map((ask) => answer(ask, false)));
    const held = gate.review(verdict());
    expect(held.verdict).toBe('hold');
    const reason = held.verdict === 'hold' ? held.reason : '';
    expect(reason).toMatch(/^not confirmed by other workers: 0 of 2 found it down, 1 needed; reached from w[23] \(zone [bc]\), w[23] \(zone [bc]\)$/);
    expect(gate.stats()).toMatchObject({ refuted: 1, refuted_now: 1 });

    advance(5_000);
    expect(gate.review(verdict())).toEqual({ verdict: 'hold', reason });
    expect(gate.takeAsks()).toEqual([]);
    advance(5_000);
    // Asking again; the last known word stays the reason meanwhile.
    expect(gate.review(verdict())).toEqual({ verdict: 'hold', reason });
    const again = gate.takeAsks();
    expect(again).toHaveLength(2);
    gate.received(again.map((ask) => answer(ask, true)));
    expect(gate.review(verdict())).toMatchObject({ verdict: 'apply', confirmedBy: 2 });
  });

  it('decides alone when nobody answered by the deadline, and says so', () => {
    const { gate, verdict, advance } = harness({ deadline: 2 });
    gate.setLive([{ id: 'w2', zone: 'b' }]);
    gate.review(verdict());
    const asks = gate.takeAsks();
    advance(1_999);
    expect(gate.review(verdict()).verdict).toBe('hold');
    advance(1);
    expect(gate.review(verdict())).toEqual({ verdict: 'apply', note: 'decided alone: no answer by the deadline from w2' });
    expect(gate.takeRemovals()).toEqual(asks.map((ask) => ask.id));
  });

  it('drops the ask of a VIM that recovered or moved, and deletes answers nobody waits for', () => {
    const { gate, verdict, answer } = harness();
    gate.setLive([{ id: 'w2', zone: 'b' }]);
    gate.review(verdict());
    gate.settled('vim-1');
    // Not yet written: the queued row is dropped with it.
    expect(gate.takeAsks()).toEqual([]);
    expect(gate.waiting()).toBe(false);
    const stale: NewConfirmation = { id: 'row-x', vimId: 'vim-1', worker: 'w2', deadlineMs: 0 };
    gate.received([answer(stale, true)]);
    expect(gate.takeRemovals()).toContain('row-x');
  });

  it('applies a verdict that only a required deep check reached: the VIM answered, the other workers would find it up', () => {
    const { gate, verdict } = harness();
    gate.setLive([{ id: 'w2', zone: 'b' }]);
    expect(gate.review({ ...verdict(), failedProbes: [] })).toEqual({ verdict: 'apply' });
    expect(gate.review({ ...verdict(), failedProbes: ['tcp'] }).verdict).toBe('hold');
  });

  it('lets a VIM turn confirmation off in its own monitor_settings', () => {
    const { gate, verdict } = harness();
    gate.setLive([{ id: 'w2', zone: 'b' }]);
    const own = verdict();
    own.settings = { ...own.settings!, confirm: { enabled: false } };
    expect(gate.review(own)).toEqual({ verdict: 'apply' });
    const configuredOff = harness({ enabled: false });
    configuredOff.gate.setLive([{ id: 'w2', zone: 'b' }]);
    expect(configuredOff.gate.review(configuredOff.verdict())).toEqual({ verdict: 'apply' });
  });
});
