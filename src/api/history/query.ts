import { InvalidInputError } from '../../errors.js';
import { UPTIME_WINDOWS, type HistoryQuery, type UptimeWindow } from '../../history/history-reader.js';
import { parseListQuery, type VimListQuery } from '../vims/list-query.js';
import { parseNonNegativeInteger } from '../input-guards.js';

export type RawQuery = Record<string, string | string[] | undefined>;

export interface UptimeQuery {
  window: UptimeWindow;
  excludeMaintenance: boolean;
}

export interface UptimeListQuery extends UptimeQuery {
  list: VimListQuery;
  limit: number;
  marker?: string;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const WINDOWS = Object.keys(UPTIME_WINDOWS) as UptimeWindow[];

/** `?from=&to=&step=` of GET /v1.0/vims/{id}/history. */
export function parseHistoryQuery(query: RawQuery): HistoryQuery {
  refuseUnknown(query, ['from', 'to', 'step']);
  const from = single(query, 'from');
  const to = single(query, 'to');
  const step = single(query, 'step');
  if (step !== undefined && step !== 'hour' && step !== 'day') throw new InvalidInputError(`step must be hour or day, not '${step}'`);
  return {
    ...(from !== undefined && { fromMs: parseInstant(from, 'from') }),
    ...(to !== undefined && { toMs: parseInstant(to, 'to') }),
    ...(step !== undefined && { step }),
  };
}

/** `?window=&exclude_maintenance=` of GET /v1.0/vims/{id}/uptime. */
export function parseUptimeQuery(query: RawQuery): UptimeQuery {
  refuseUnknown(query, ['window', 'exclude_maintenance']);
  return uptimeOptions(query);
}

/** GET /v1.0/uptime: the uptime options, paging, and the filters of GET /v1.0/vims (fields= excepted: the answer is not a VIM). */
export function parseUptimeListQuery(query: RawQuery): UptimeListQuery {
  const own = new Set(['window', 'exclude_maintenance', 'limit', 'marker']);
  if (query.fields !== undefined) throw new InvalidInputError("fields= does not apply to uptimes");
  const filters = Object.fromEntries(Object.entries(query).filter(([key]) => !own.has(key)));
  const limit = parseNonNegativeInteger(single(query, 'limit'), 'limit') ?? DEFAULT_LIMIT;
  if (limit < 1 || limit > MAX_LIMIT) throw new InvalidInputError(`limit must be between 1 and ${MAX_LIMIT}`);
  const marker = single(query, 'marker');
  return { ...uptimeOptions(query), list: parseListQuery(filters), limit, ...(marker !== undefined && { marker }) };
}

function uptimeOptions(query: RawQuery): UptimeQuery {
  const window = single(query, 'window') ?? '24h';
  if (!(WINDOWS as string[]).includes(window)) throw new InvalidInputError(`window must be one of ${WINDOWS.join(', ')}, not '${window}'`);
  const exclude = single(query, 'exclude_maintenance') ?? 'false';
  if (exclude !== 'true' && exclude !== 'false') throw new InvalidInputError('exclude_maintenance must be true or false');
  return { window: window as UptimeWindow, excludeMaintenance: exclude === 'true' };
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * An ISO 8601 instant (`2026-12-01T10:00:00Z`, with an offset, fractions, or
 * a date alone meaning its midnight UTC; without a zone it is UTC, as Tacker's
 * timestamps are), as epoch ms rounded down to the second. The date and time
 * must exist: 30 February is refused, not rolled over.
 */
export function parseInstant(value: string, name: string): number {
  const match = INSTANT.exec(value);
  const refuse = (): never => {
    throw new InvalidInputError(`${name} must be an ISO 8601 date and time like 2026-12-01T10:00:00Z`);
  };
  if (!match) return refuse();
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const exists =
    local.getUTCFullYear() === year &&
    local.getUTCMonth() === month - 1 &&
    local.getUTCDate() === day &&
    local.getUTCHours() === hour &&
    local.getUTCMinutes() === minute &&
    local.getUTCSeconds() === second;
  if (!exists || year < 1970) return refuse();
  const zone = match[8];
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.replace(':', '');
    const hours = Number(digits.slice(1, 3));
    const minutes = Number(digits.slice(3, 5));
    if (hours > 23 || minutes > 59) return refuse();
    offsetMinutes = (digits.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  return local.getTime() - offsetMinutes * 60_000;
}

function single(query: RawQuery, key: string): string | undefined {
  const value = query[key];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function refuseUnknown(query: RawQuery, known: readonly string[]): void {
  for (const key of Object.keys(query)) {
    if (!known.includes(key)) throw new InvalidInputError(`Unknown query parameter '${key}'; use ${known.join(', ')}`);
  }
}
