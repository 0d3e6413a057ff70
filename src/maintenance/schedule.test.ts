import { describe, expect, it } from 'vitest';
import { isTimeZone, localToUtc, nextChange, occurrenceAt, parseTimeOfDay, type WeeklySchedule } from './schedule.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null | undefined): string | null | undefined => (typeof ms === 'number' ? new Date(ms).toISOString() : ms);

/** Sundays 02:30 Paris time for an hour: the slot the spring-forward day skips. */
const parisSunday: WeeklySchedule = { kind: 'weekly', days: ['sun'], startMinute: 150, durationMinutes: 60, timeZone: 'Europe/Paris' };

describe('a one-off window', () => {
  const once = { kind: 'once', startMs: at('2026-12-01T10:00:00Z'), endMs: at('2026-12-01T12:00:00Z') } as const;

  it('is open from its start (inclusive) to its end (exclusive)', () => {
    expect(occurrenceAt(once, at('2026-12-01T09:59:59.999Z'))).toBeUndefined();
    expect(occurrenceAt(once, at('2026-12-01T10:00:00Z'))).toEqual({ startMs: once.startMs, endMs: once.endMs });
    expect(occurrenceAt(once, at('2026-12-01T11:59:59.999Z'))).toBeDefined();
    expect(occurrenceAt(once, at('2026-12-01T12:00:00Z'))).toBeUndefined();
  });

  it('changes next at its start, then its end, then never', () => {
    expect(iso(nextChange(once, at('2026-12-01T09:00:00Z')))).toBe('2026-12-01T10:00:00.000Z');
    expect(iso(nextChange(once, at('2026-12-01T10:30:00Z')))).toBe('2026-12-01T12:00:00.000Z');
    expect(nextChange(once, at('2026-12-01T12:00:00Z'))).toBeUndefined();
  });

  it('stays open for ever when open-ended', () => {
    const open = { kind: 'once', startMs: at('2026-12-01T10:00:00Z'), endMs: null } as const;
    expect(occurrenceAt(open, at('2036-01-01T00:00:00Z'))).toEqual({ startMs: open.startMs, endMs: null });
    expect(nextChange(open, at('2030-01-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('a weekly window in Europe/Paris', () => {
  it('opens at 02:30 CET (01:30 UTC) on an ordinary winter Sunday, and not on Saturday', () => {
    expect(iso(occurrenceAt(parisSunday, at('2026-03-22T01:45:00Z'))?.startMs)).toBe('2026-03-22T01:30:00.000Z');
    expect(iso(occurrenceAt(parisSunday, at('2026-03-22T01:45:00Z'))?.endMs)).toBe('2026-03-22T02:30:00.000Z');
    expect(occurrenceAt(parisSunday, at('2026-03-22T01:29:59Z'))).toBeUndefined();
    expect(occurrenceAt(parisSunday, at('2026-03-21T01:45:00Z'))).toBeUndefined();
  });

  it('on the spring-forward Sunday, whose 02:30 does not exist, opens at 03:30 CEST (01:30 UTC) and lasts its hour', () => {
    // 2026-03-29: at 02:00 CET the clocks jump to 03:00 CEST.
    const occurrence = occurrenceAt(parisSunday, at('2026-03-29T02:00:00Z'));
    expect(iso(occurrence?.startMs)).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(occurrence?.endMs)).toBe('2026-03-29T02:30:00.000Z');
    expect(occurrenceAt(parisSunday, at('2026-03-29T01:29:00Z'))).toBeUndefined();
    expect(iso(nextChange(parisSunday, at('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:30:00.000Z');
  });

  it('opens at 02:30 CEST (00:30 UTC) once summer time holds', () => {
    expect(iso(occurrenceAt(parisSunday, at('2026-04-05T00:45:00Z'))?.startMs)).toBe('2026-04-05T00:30:00.000Z');
    expect(occurrenceAt(parisSunday, at('2026-04-05T01:45:00Z'))).toBeUndefined();
  });

  it('on the fall-back Sunday, whose 02:30 happens twice, opens at the first one (02:30 CEST = 00:30 UTC) for one elapsed hour', () => {
    // 2026-10-25: at 03:00 CEST the clocks go back to 02:00 CET.
    const occurrence = occurrenceAt(parisSunday, at('2026-10-25T00:45:00Z'));
    expect(iso(occurrence?.startMs)).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(occurrence?.endMs)).toBe('2026-10-25T01:30:00.000Z');
    // The second 02:30 (CET, 01:30 UTC) is not a second occurrence.
    expect(occurrenceAt(parisSunday, at('2026-10-25T01:45:00Z'))).toBeUndefined();
    expect(iso(occurrenceAt(parisSunday, at('2026-11-01T01:45:00Z'))?.startMs)).toBe('2026-11-01T01:30:00.000Z');
  });

  it('lasts its duration in elapsed time across the change: 01:00 for three hours on the spring-forward day ends at 05:00 CEST', () => {
    const night: WeeklySchedule = { ...parisSunday, startMinute: 60, durationMinutes: 180 };
    const occurrence = occurrenceAt(night, at('2026-03-29T02:59:00Z'));
    expect(iso(occurrence?.startMs)).toBe('2026-03-29T00:00:00.000Z');
    expect(iso(occurrence?.endMs)).toBe('2026-03-29T03:00:00.000Z');
  });

  it('spans midnight into the next day, and counts as open on that day', () => {
    const late: WeeklySchedule = { kind: 'weekly', days: ['sat'], startMinute: 23 * 60, durationMinutes: 120, timeZone: 'Europe/Paris' };
    // Saturday 2026-12-05 23:00 CET = 22:00 UTC, until Sunday 01:00 CET.
    expect(iso(occurrenceAt(late, at('2026-12-05T23:30:00Z'))?.startMs)).toBe('2026-12-05T22:00:00.000Z');
    expect(occurrenceAt(late, at('2026-12-06T00:00:00Z'))).toBeUndefined();
    expect(iso(nextChange(late, at('2026-12-05T23:30:00Z')))).toBe('2026-12-06T00:00:00.000Z');
  });
});

describe('overlapping occurrences of one weekly window', () => {
  it('changes next when the following slot opens, before the open one ends, and counts as open across both', () => {
    const long: WeeklySchedule = { kind: 'weekly', days: ['mon', 'tue'], startMinute: 0, durationMinutes: 30 * 60, timeZone: 'UTC' };
    // Monday 2026-11-30 00:00 for 30 h, Tuesday 00:00 for 30 h: overlapping from Tuesday 00:00 to 06:00.
    expect(iso(nextChange(long, at('2026-11-30T12:00:00Z')))).toBe('2026-12-01T00:00:00.000Z');
    expect(iso(occurrenceAt(long, at('2026-12-01T03:00:00Z'))?.endMs)).toBe('2026-12-02T06:00:00.000Z');
    expect(iso(nextChange(long, at('2026-12-01T03:00:00Z')))).toBe('2026-12-02T06:00:00.000Z');
    expect(occurrenceAt(long, at('2026-12-02T06:00:00Z'))).toBeUndefined();
  });
});

describe('time helpers', () => {
  it('resolves local times as Temporal does with compatible disambiguation', () => {
    expect(new Date(localToUtc('Europe/Paris', { year: 2026, month: 3, day: 29 }, 150)).toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(new Date(localToUtc('Europe/Paris', { year: 2026, month: 10, day: 25 }, 150)).toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(new Date(localToUtc('America/New_York', { year: 2026, month: 3, day: 8 }, 150)).toISOString()).toBe('2026-03-08T07:30:00.000Z');
    expect(new Date(localToUtc('UTC', { year: 2026, month: 3, day: 29 }, 150)).toISOString()).toBe('2026-03-29T02:30:00.000Z');
  });

  it('knows IANA zones and times of day, and refuses what is not one', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(parseTimeOfDay('02:30')).toBe(150);
    expect(parseTimeOfDay('23:59')).toBe(1439);
    expect(parseTimeOfDay('24:00')).toBeUndefined();
    expect(parseTimeOfDay('2:30')).toBeUndefined();
    expect(parseTimeOfDay('12:60')).toBeUndefined();
  });
});
