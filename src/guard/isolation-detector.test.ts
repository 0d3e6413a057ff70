import { describe, expect, it } from 'vitest';
import { IsolationDetector, type IsolationSample, type IsolationSettings } from './isolation-detector.js';

const SETTINGS: IsolationSettings = { maxFailingShare: 0.3, minFailing: 5, windowMs: 10_000, recoveryGraceMs: 30_000, outageGraceMs: 20_000 };

/** A sample of 100 recently checked VIMs with `failing` of them failing, at second `atS`. */
function sample(atS: number, failing: number, extra: Partial<IsolationSample> = {}): IsolationSample {
  return { atMs: atS * 1000, canaries: 'none', recent: 100, failing, outage: false, ...extra };
}

function feed(detector: IsolationDetector, samples: IsolationSample[]): Array<string | undefined> {
  return samples.map((s) => {
    const t = detector.observe(s);
    return t && `${t.from}->${t.to}${t.cause ? `(${t.cause})` : ''}`;
  });
}

describe('the isolation detector', () => {
  it('enters isolation when the failing share jumps above max_failing_share within one window, and says why', () => {
    const detector = new IsolationDetector(SETTINGS);
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
    const detector = new IsolationDetector(SETTINGS);
    expect(feed(detector, [sample(0, 0), sample(1, 30)])).toEqual([undefined, undefined]);
    const small = new IsolationDetector(SETTINGS);
    // 4 of 5 VIMs failing is 80 %, but a worker with five VIMs losing four is not evidence of its own uplink.
    expect(feed(small, [{ ...sample(0, 0), recent: 5 }, { ...sample(1, 4), recent: 5 }])).toEqual([undefined, undefined]);
    expect(small.isolated).toBe(false);
  });

  it('does not enter when the share was already high a window before (a standing outage, or a start among dead VIMs)', () => {
    const detector = new IsolationDetector(SETTINGS);
    // From the first sample on the share is high: it never was low, so it did not rise.
    expect(feed(detector, [sample(0, 50), sample(1, 60), sample(2, 70)])).toEqual([undefined, undefined, undefined]);
    // Low, then high only after more than a window of creeping up above the threshold? The rise must fit in one window.
    const slow = new IsolationDetector(SETTINGS);
    feed(slow, [sample(0, 20)]);
    // The last low sample is at 0 s; at 11 s, more than a 10 s window later, the share is high for the first time.
    expect(feed(slow, [sample(11, 40)])).toEqual([undefined]);
    expect(slow.isolated).toBe(false);
  });

  it('enters on failing canaries alone, whatever the share, and stays while they fail', () => {
    const detector = new IsolationDetector(SETTINGS);
    expect(feed(detector, [sample(0, 0, { canaries: 'ok' }), sample(1, 0, { canaries: 'failing' })])).toEqual([undefined, 'normal->isolated(canaries)']);
    expect(feed(detector, [sample(2, 0, { canaries: 'failing' }), sample(3, 0, { canaries: 'failing' })])).toEqual([undefined, undefined]);
    expect(detector.isolated).toBe(true);
  });

  it('leaves only when the canaries answer and the share is down to half the threshold (hysteresis), then holds for recovery_grace', () => {
    const detector = new IsolationDetector(SETTINGS);
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
    const detector = new IsolationDetector(SETTINGS);
    feed(detector, [sample(0, 0), sample(1, 90), sample(2, 0)]);
    expect(detector.state).toBe('recovering');
    // Low at 2 s, high again at 3 s: a rise within the window, but the episode of 1 s goes on.
    const [again] = feed(detector, [sample(3, 90)]);
    expect(again).toBe('recovering->isolated');
    expect(detector.since).toBe(1_000);
  });

  it('holds verdicts for outage_grace after a database or broker outage ends, not during it (monitoring goes on in memory then)', () => {
    const detector = new IsolationDetector(SETTINGS);
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
    const detector = new IsolationDetector({ ...SETTINGS, outageGraceMs: 5_000 });
    feed(detector, [sample(0, 0), sample(1, 90), sample(2, 0)]);
    expect(detector.graceUntil).toBe(32_000);
    feed(detector, [sample(3, 0, { outage: true }), sample(4, 0)]);
    expect(detector.state).toBe('recovering');
    expect(detector.graceUntil).toBe(32_000);
    feed(detector, [sample(30, 0, { outage: true }), sample(31, 0)]);
    expect(detector.graceUntil).toBe(36_000);
    expect(feed(detector, [sample(35, 0), sample(36, 0)])).toEqual([undefined, 'recovering->normal']);
  });

  it('counts nothing without rounds in the window: no VIMs is no evidence', () => {
    const detector = new IsolationDetector(SETTINGS);
    expect(feed(detector, [{ ...sample(0, 0), recent: 0 }, { ...sample(1, 0), recent: 0 }])).toEqual([undefined, undefined]);
    expect(detector.lastCounts).toEqual({ share: 0, failing: 0, recent: 0 });
  });
});
