import { setFlagsFromString } from 'node:v8';

/**
 * V8's heap defaults suit programs that run briefly: the young generation
 * grows to 2 × 16 MiB and the old one to about 3.5 × what survived the last
 * full collection before collecting again. A monitoring daemon holds a steady
 * set of objects (about 75 MiB at 10,000 VIMs) and promotes a trickle of them
 * as they are replaced every round: with the defaults its heap reached
 * 190 MiB and its RSS 311 MiB before the first full collection, against 200
 * MB the service aims for (docs/benchmark.md, "Memory").
 *
 * These two flags are read by V8 each time it sizes a space, so setting them
 * at start-up works (unlike --max-semi-space-size, which is fixed once the
 * heap exists): the young generation stays at its initial 2 × 1 MiB, and the
 * old one may grow 20 % past what survived before a full collection.
 */
export const DAEMON_HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=20'] as const;

/** Flags that size the heap: given on the node command line, they win and nothing is set here. */
const HEAP_SIZING = /^--(max-semi-space-size|min-semi-space-size|semi-space-growth-factor|heap-growing-percent)(=|$)/;

/** The flags to set for a daemon started with `execArgv`: none when the operator sized the heap. */
export function daemonHeapFlags(execArgv: readonly string[]): readonly string[] {
  return execArgv.some((arg) => HEAP_SIZING.test(arg.replaceAll('_', '-'))) ? [] : DAEMON_HEAP_FLAGS;
}

/** Applies daemonHeapFlags to this process; returns what it set. */
export function tuneHeapForDaemon(execArgv: readonly string[] = process.execArgv): readonly string[] {
  const flags = daemonHeapFlags(execArgv);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
