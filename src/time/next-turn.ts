/**
 * Resolves on a later turn of the event loop (after timers and I/O that are
 * due). For long work in batches: a database driver that answers in
 * microtasks (better-sqlite3 is synchronous) would otherwise run every batch
 * before a single timer, and rounds due meanwhile would start late.
 */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
