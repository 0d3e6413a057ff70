import { InvalidInputError } from '../errors.js';

/**
 * The most a `text` column holds on every supported database: MariaDB/MySQL
 * TEXT stops at 65,535 bytes (SQLite and PostgreSQL hold far more). A value
 * beyond it would be stored on two databases and be a 500 on the third, so
 * it is refused alike everywhere, before any SQL runs.
 */
export const MAX_TEXT_BYTES = 65_535;

/** Throws InvalidInputError naming the first column whose value does not fit. */
export function checkTextColumns(what: string, columns: Record<string, string | null | undefined>): void {
  for (const [column, value] of Object.entries(columns)) {
    if (typeof value !== 'string' || value.length * 3 <= MAX_TEXT_BYTES) continue; // UTF-8 needs at most 3 bytes per UTF-16 unit
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_TEXT_BYTES) {
      throw new InvalidInputError(`The ${what}'s ${column} would take ${bytes} bytes once stored, more than the limit of ${MAX_TEXT_BYTES}`);
    }
  }
}
