import { loadNativeBinding } from '../probes/engine/native-binding.js';

/** How often freed malloc memory goes back to the kernel (a pass over the arenas is short: one 0.5 ms sample in a 45 s profile of a 1,000-VIM process). */
export const MEMORY_TRIM_INTERVAL_MS = 30_000;

/**
 * Gives the pages of freed malloc memory back to the kernel every 30 s
 * (glibc's malloc_trim, through the native probe engine's addon). glibc
 * keeps freed chunks in its arenas and returns only the top of the heap on
 * its own: between history flushes zlib's and SQLite's buffers and the
 * engine's per-exchange ones stayed in the RSS (about 9 MB at 10,000 VIMs,
 * issue 13). Without the addon (not built, another C library) nothing is
 * done. Returns the function that stops it (idempotent).
 */
export function startMemoryTrim(trim: (() => boolean) | null = nativeTrim()): () => void {
  if (trim === null) return () => undefined;
  const timer = setInterval(() => trim(), MEMORY_TRIM_INTERVAL_MS);
  // Never what keeps a process alive that is otherwise shutting down.
  timer.unref();
  return () => clearInterval(timer);
}

function nativeTrim(): (() => boolean) | null {
  const loaded = loadNativeBinding();
  return loaded.ok ? loaded.binding.trimMemory : null;
}
