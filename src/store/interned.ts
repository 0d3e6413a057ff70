/**
 * One copy of each short value that repeats across rows: statuses, types,
 * tenant and project names, condition fields. A driver makes a new string for
 * every row it reads, so 10,000 VIMs held 10,000 copies of "REACHABLE",
 * "openstack", "IdentityAPI"... (about 3.5 MB of heap, issue 13). Bounded:
 * past INTERNED_MAX distinct values, values are kept as read. Never used for
 * secrets (a table would keep them after their VIM is gone).
 */
export const INTERNED_MAX = 4096;

const table = new Map<string, string>();

export function interned(value: string): string;
export function interned(value: string | null): string | null;
export function interned(value: string | null): string | null {
  if (value === null) return null;
  const known = table.get(value);
  if (known !== undefined) return known;
  if (table.size < INTERNED_MAX) table.set(value, value);
  return value;
}

/** Distinct values held (for tests and the memory measurement). */
export function internedCount(): number {
  return table.size;
}
