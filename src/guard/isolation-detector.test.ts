import { describe, expect, it } from 'vitest';
import { IsolationDetector, type IsolationSample, type IsolationSettings } from './isolation-detector.js';

const SETTINGS: IsolationSettings = { maxFailingShare: 0.3, minFailing: 5, windowMs: 10_000, recoveryGraceMs: 30_000, outageGraceMs: 20_000 };

/** A sample of 100 recently checked VIMs with `failing` of them failing, at second `atS`. */
function sample(atS: number, failing: number, extra: Partial<IsolationSample> = {}): IsolationSample {
  return { atMs: atS * 1000, canaries: 'none', recent: 100, failing, outage: false, ...extra };
}

/** A detector past its start-up window: its first rounds came at -20 s, and the share was 0 at -10 s (the baseline of what follows). */
function warm(settings: IsolationSettings = SETTINGS): IsolationDetector {
  const detector = new IsolationDetector(settings);
  detector.observe({ atMs: -20_000, canaries: 'none', recent: 100, failing: 0, outage: false });
  detector.observe({ atMs: -10_000, canaries: 'none', recent: 100, failing: 0, outage: false });
  return detector;
}

function feed(detector: IsolationDetector, samples: IsolationSample[]): Array<string | undefined> {
  return samples.map((s) => {
    const t = detector.observe(s);
    return t && `${t.from}->${t.to}${t.cause ? `(${t.cause})` : ''}`;
  });
}

describe('the isolation detector', () => {
  it('enters isolation when the failing share jumps above max_failing_share within one window, and says why', () => {
    const detector = warm();
    expect(feed(detector, [sample(0, 2), sample(1, 10), sample(2, 25)])).toEqual([undefined, undefined, undefined]);
    expect(detector.holding).toBe(false);
    expect(feed(detector, [sample(3, 60)])).toEqual(['normal->isolated(failing_share)']);
    expect(detector.isolated).toBe(true);
    expect(detector.holding).toBe(true);
    expect(detector.why).toBe('failing_share');
    expect(detector.since).toBe(3_000);
    // Staying high is the same episode: nothing new.
    expect(feed(detector, [sample(4, 100), sample(5, 100)])).toEqual([undefined, undefined]);
  });

  it('does not enter at exactly the threshold, nor above it with fewer than min_failing failing VIMs', () => {
    const detector = warm();
    expect(feed(detector, [sample(0, 0), sample(1, 30)])).toEqual([undefined, undefined]);
    const small = warm();
    // 4 of 5 VIMs failing is 80 %, but a worker with five VIMs losing four is not evidence of its own uplink.
    expect(feed(small, [{ ...sample(0, 0), recent: 5 }, { ...sample(1, 4), recent: 5 }])).toEqual([undefined, undefined]);
    expect(small.isolated).toBe(false);
  });

  it('does not enter when the share was already high a window before (a standing outage), nor when it creeps up over several windows', () => {
    const standing = new IsolationDetector(SETTINGS);
    // High from the first rounds on, and still a window later: never low, so it did not rise.
    expect(feed(standing, [sample(0, 50), sample(5, 60), sample(15, 70), sample(26, 70), sample(40, 70)])).toEqual([undefined, undefined, undefined, undefined, undefined]);
    // A region failing VIM by VIM, ticks every second: 1 % more each second, over the 30 % threshold after 31 s,
    // when a window (10 s) before it was 21 %: above half the threshold, so not a sudden rise.
    const creeping = warm();
    const ticks = Array.from({ length: 40 }, (_, i) => sample(i, i));
    expect(feed(creeping, ticks).filter((t) => t !== undefined)).toEqual([]);
    expect(creeping.isolated).toBe(false);
    expect(creeping.lastCounts.share).toBeCloseTo(0.39);
  });

  it('enters on failing canaries alone, whatever the share, and stays while they fail', () => {
    const detector = warm();
    expect(feed(detector, [sample(0, 0, { canaries: 'ok' }), sample(1, 0, { canaries: 'failing' })])).toEqual([undefined, 'normal->isolated(canaries)']);
    expect(feed(detector, [sample(2, 0, { canaries: 'failing' }), sample(3, 0, { canaries: 'failing' })])).toEqual([undefined, undefined]);
    expect(detector.isolated).toBe(true);
  });

  it('leaves only when the canaries answer and the share is down to half the threshold (hysteresis), then holds for recovery_grace', () => {
    const detector = warm();
    feed(detector, [sample(0, 0, { canaries: 'ok' }), sample(1, 80, { canaries: 'failing' })]);
    // Canaries answer, but the share is still high: isolated.
    expect(feed(detector, [sample(2, 80, { canaries: 'ok' })])).toEqual([undefined]);
    // 20 % is below the entry threshold (30 %) but above the exit one (15 %): still isolated, no flapping.
    expect(feed(detector, [sample(3, 20, { canaries: 'ok' })])).toEqual([undefined]);
    expect(detector.isolated).toBe(true);
    expect(feed(detector, [sample(4, 15, { canaries: 'ok' })])).toEqual(['isolated->recovering']);
    expect(detector.isolated).toBe(false);
    expect(detector.holding).toBe(true);
    expect(detector.graceUntil).toBe(34_000);
    expect(feed(detector, [sample(20, 0, { canaries: 'ok' }), sample(33.9, 0, { canaries: 'ok' })])).toEqual([undefined, undefined]);
    expect(feed(detector, [sample(34, 0, { canaries: 'ok' })])).toEqual(['recovering->normal']);
    expect(detector.holding).toBe(false);
    expect(detector.since).toBeUndefined();
  });

  it('treats a cause that returns during recovery_grace as the same episode (no second event), keeping its start', () => {
    const detector = warm();
    feed(detector, [sample(0, 0), sample(1, 90), sample(2, 0)]);
    expect(detector.state).toBe('recovering');
    // Low at 2 s, high again at 3 s: a rise within the window, but the episode of 1 s goes on.
    const [again] = feed(detector, [sample(3, 90)]);
    expect(again).toBe('recovering->isolated');
    expect(detector.since).toBe(1_000);
  });

  it('holds verdicts for outage_grace after a database or broker outage ends, not during it (monitoring goes on in memory then)', () => {
    const detector = warm();
    expect(feed(detector, [sample(0, 0), sample(1, 0, { outage: true }), sample(30, 0, { outage: true })])).toEqual([undefined, undefined, undefined]);
    expect(detector.holding).toBe(false);
    // The grace counts from the end of the outage.
    expect(feed(detector, [sample(31, 0)])).toEqual(['normal->outage_grace']);
    expect(detector.holding).toBe(true);
    expect(detector.isolated).toBe(false);
    expect(detector.graceUntil).toBe(51_000);
    expect(feed(detector, [sample(50, 0), sample(51, 0)])).toEqual([undefined, 'outage_grace->normal']);
  });

  it('lets an outage that ends during recovery extend the wait but never shorten it', () => {
    const detector = warm({ ...SETTINGS, outageGraceMs: 5_000 });
    feed(detector, [sample(0, 0), sample(1, 90), sample(2, 0)]);
    expect(detector.graceUntil).toBe(32_000);
    feed(detector, [sample(3, 0, { outage: true }), sample(4, 0)]);
    expect(detector.state).toBe('recovering');
    expect(detector.graceUntil).toBe(32_000);
    feed(detector, [sample(30, 0, { outage: true }), sample(31, 0)]);
    expect(detector.graceUntil).toBe(36_000);
    expect(feed(detector, [sample(35, 0), sample(36, 0)])).toEqual([undefined, 'recovering->normal']);
  });

  it('takes no baseline during the first window of rounds: a worker that starts among dead VIMs is not isolated', () => {
    const detector = new IsolationDetector(SETTINGS);
    // Start-up: no round yet, then first rounds spread over the interval; 40 % of the VIMs are really down.
    const startUp = [{ ...sample(0, 0), recent: 0 }, { ...sample(1, 1), recent: 10 }, { ...sample(3, 8), recent: 30 }, { ...sample(6, 24), recent: 60 }, sample(9, 40), sample(12, 40)];
    expect(feed(detector, startUp)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(detector.holding).toBe(false);
    // Later, once warm, a jump from a low share a window before isolates.
    expect(feed(detector, [sample(30, 5), sample(41, 50)])).toEqual([undefined, 'normal->isolated(failing_share)']);
  });

  it('counts nothing without rounds in the window: no VIMs is no evidence', () => {
    const detector = warm();
    expect(feed(detector, [{ ...sample(0, 0), recent: 0 }, { ...sample(1, 0), recent: 0 }])).toEqual([undefined, undefined]);
    expect(detector.lastCounts).toEqual({ share: 0, failing: 0, recent: 0 });
  });
});
