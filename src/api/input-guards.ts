import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../errors.js';
import { checkFreeFormSizes } from './json-bounds.js';

/**
 * Checks every request's strings once, before schema validation and the
 * handler, so that SQLite, PostgreSQL and MariaDB never disagree about them:
 * PostgreSQL refuses U+0000 in text (a 500 if it gets that far) where the
 * others store it, and a lone UTF-16 surrogate would be stored as U+FFFD
 * (a different value than the one accepted).
 */
export function installInputGuards(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    checkStrings(request.params, 'path');
    checkStrings(request.query, 'query string');
    if (request.body !== undefined) {
      checkStrings(request.body, 'request body');
      checkFreeFormSizes(request.body);
    }
  });
}

/** Walks keys and values (the depth is already bounded by the body parser). */
function checkStrings(value: unknown, where: string): void {
  if (typeof value === 'string') {
    checkString(value, where);
  } else if (Array.isArray(value)) {
    for (const item of value) checkStrings(item, where);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      checkString(key, where);
      checkStrings(item, where);
    }
  }
}

// A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function checkString(value: string, where: string): void {
  if (value.includes('\u0000')) throw new InvalidInputError(`The ${where} contains a NUL character (U+0000), which is not allowed`);
  if (LONE_SURROGATE.test(value)) throw new InvalidInputError(`The ${where} contains an unpaired UTF-16 surrogate, which is not valid text`);
}

/** The largest integer every store keeps exactly (bigint columns, and a JavaScript number). */
const MAX_INTEGER = Number.MAX_SAFE_INTEGER;

/** A non-negative integer query value (ids, limits) that fits every database's bigint and a JavaScript number. */
export function parseNonNegativeInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value) || Number(value) > MAX_INTEGER) {
    throw new InvalidInputError(`${name} must be a non-negative integer not above ${MAX_INTEGER}`);
  }
  return Number(value);
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?Z?$/;

/**
 * A UTC timestamp as Tacker writes it (`YYYY-MM-DD hh:mm:ss[.ffffff]`) or
 * ISO 8601 with `T`/`Z`, returned in Tacker's stored form. The date must
 * exist: month 13 or 30 February is refused, not compared as text.
 */
export function parseUtcTimestamp(value: string, name: string): string {
  const match = TIMESTAMP.exec(value);
  const refuse = (): never => {
    throw new InvalidInputError(`${name} must be a real UTC timestamp like '2026-01-31 12:00:00' or '2026-01-31T12:00:00Z'`);
  };
  if (!match) return refuse();
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const exists =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  if (!exists) return refuse();
  const fraction = (match[7] ?? '.').slice(1).padEnd(6, '0');
  return `${match[1]}-${match[2]}-${match[3]} ${match[4]}:${match[5]}:${match[6]}.${fraction}`;
}
