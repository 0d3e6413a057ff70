/**
 * When a maintenance window is open: pure functions of a schedule and an
 * instant, no clock and no I/O (unit-tested in schedule.test.ts).
 *
 * Time zones come from the platform's `Intl` (Node ships full ICU and its
 * tz database): no dependency to keep up to date beside Node itself, and
 * the zone rules are the ones the operating system's users see.
 *
 * Local times that do not exist or exist twice are resolved as Temporal's
 * `disambiguation: 'compatible'` (and java.time, and RFC 5545 for a
 * DTSTART in a gap) do:
 * - a local start time in a spring-forward gap (02:30 in Europe/Paris on the
 *   last Sunday of March) is moved forward by the gap's length (03:30 CEST):
 *   the window still happens that day, one hour late on the wall clock;
 * - a local start time that happens twice (02:30 on the last Sunday of
 *   October) is the earlier of the two (02:30 CEST).
 * A window lasts its duration in elapsed time, so on those days its local
 * end time moves by the hour that was skipped or repeated.
 */

/** ISO weekdays: 1 = Monday … 7 = Sunday. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The longest recurring slot: a week (a longer one would overlap itself). */
export const MAX_DURATION_MINUTES = 7 * 24 * 60;

export interface OnceSchedule {
  kind: 'once';
  startMs: number;
  /** null: open-ended (until the window is deleted). */
  endMs: number | null;
}

export interface WeeklySchedule {
  kind: 'weekly';
  days: Weekday[];
  /** Local start time, minutes after midnight in `timeZone`. */
  startMinute: number;
  /** Elapsed minutes, 1 … MAX_DURATION_MINUTES. */
  durationMinutes: number;
  /** IANA zone name, e.g. Europe/Paris. */
  timeZone: string;
}

export type Schedule = OnceSchedule | WeeklySchedule;

/** One occurrence of a window: from start (inclusive) to end (exclusive; null: open-ended). */
export interface Occurrence {
  startMs: number;
  endMs: number | null;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** The occurrence open at `atMs`, if any (of overlapping weekly slots, the one that ends last). */
export function occurrenceAt(schedule: Schedule, atMs: number): Occurrence | undefined {
  if (schedule.kind === 'once') {
    const open = schedule.startMs <= atMs && (schedule.endMs === null || atMs < schedule.endMs);
    return open ? { startMs: schedule.startMs, endMs: schedule.endMs } : undefined;
  }
  const today = localDate(schedule.timeZone, atMs);
  const lookBack = Math.ceil(schedule.durationMinutes / 1440) + 1;
  let found: Occurrence | undefined;
  for (let back = 0; back <= lookBack; back++) {
    const date = addDays(today, -back);
    if (!schedule.days.includes(weekdayOf(date))) continue;
    const startMs = localToUtc(schedule.timeZone, date, schedule.startMinute);
    const endMs = startMs + schedule.durationMinutes * MINUTE_MS;
    if (startMs <= atMs && atMs < endMs && (found === undefined || endMs > (found.endMs ?? Infinity))) found = { startMs, endMs };
  }
  return found;
}

/**
 * The first instant after `atMs` at which the window may open or close:
 * when a hold must be looked at again. undefined: never again (a one-off
 * window that is over, or open-ended and open).
 */
export function nextChange(schedule: Schedule, atMs: number): number | undefined {
  if (schedule.kind === 'once') {
    if (schedule.startMs > atMs) return schedule.startMs;
    if (schedule.endMs !== null && schedule.endMs > atMs) return schedule.endMs;
    return undefined;
  }
  // A slot longer than the gap to the next one overlaps it: the next start may come before the open one ends.
  const openEnd = occurrenceAt(schedule, atMs)?.endMs ?? Number.POSITIVE_INFINITY;
  const today = localDate(schedule.timeZone, atMs);
  for (let ahead = 0; ahead <= 8; ahead++) {
    const date = addDays(today, ahead);
    if (!schedule.days.includes(weekdayOf(date))) continue;
    const startMs = localToUtc(schedule.timeZone, date, schedule.startMinute);
    if (startMs > atMs) return Math.min(startMs, openEnd);
  }
  return Number.isFinite(openEnd) ? openEnd : undefined;
}

/** Whether the platform knows this IANA zone name. */
export function isTimeZone(name: string): boolean {
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/** `HH:MM` (24 h) as minutes after midnight, or undefined when it is not a time of day. */
export function parseTimeOfDay(text: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}

export function formatTimeOfDay(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** A calendar date (proleptic Gregorian), month 1–12. */
interface LocalDate {
  year: number;
  month: number;
  day: number;
}

/**
 * The instant at which the wall clock of `zone` shows `date` at
 * `minuteOfDay`, resolved as described at the top of this file. Assumes at
 * most one offset transition within a day of the wall time (true of every
 * zone in the tz database).
 */
export function localToUtc(zone: string, date: LocalDate, minuteOfDay: number): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, 0, minuteOfDay);
  const before = offsetMs(zone, wall - DAY_MS);
  const after = offsetMs(zone, wall + DAY_MS);
  const candidates = [...new Set([before, after])].map((offset) => wall - offset).filter((instant) => instant + offsetMs(zone, instant) === wall);
  // Two: the wall time happens twice (fall back), take the earlier. None: it falls in a gap (spring forward),
  // take the offset in force before the gap, which lands as far after the gap as the time was into it.
  return candidates.length > 0 ? Math.min(...candidates) : wall - before;
}

/** How far ahead of UTC the wall clock of `zone` is at `atMs` (whole seconds). */
function offsetMs(zone: string, atMs: number): number {
  const floored = Math.floor(atMs / 1000) * 1000;
  const p = parts(zone, floored);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - floored;
}

function localDate(zone: string, atMs: number): LocalDate {
  const { year, month, day } = parts(zone, atMs);
  return { year, month, day };
}

function addDays(date: LocalDate, days: number): LocalDate {
  const moved = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
}

function weekdayOf(date: LocalDate): Weekday {
  // getUTCDay: 0 = Sunday; WEEKDAYS starts on Monday.
  return WEEKDAYS[(new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 6) % 7] as Weekday;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone for the process's life (a few zones at most; building one costs far more than using it). */
function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

function parts(zone: string, atMs: number): LocalDate & { hour: number; minute: number; second: number } {
  const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(zone).formatToParts(atMs)) {
    if (part.type in out) out[part.type as keyof typeof out] = Number(part.value);
  }
  return out;
}
