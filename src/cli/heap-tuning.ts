import { setFlagsFromString } from 'node:v8';

/**
 * V8's heap defaults suit programs that run briefly: the old generation grows
 * to about 3.5 × what survived the last full collection before it collects
 * again. A monitoring daemon holds a steady set of objects (about 75 MiB at
 * 10,000 VIMs) and promotes a trickle of them as they are replaced round
 * after round: with the defaults its heap reached 190 MiB and its RSS 311 MiB
 * before the first full collection, against the 200 MB the service aims for
 * (docs/benchmark.md). Here the old generation may grow 25 % past what
 * survived before a full collection: a few more, short, incremental
 * collections instead of a heap twice the size it needs.
 *
 * V8 reads this flag each time it sizes the old generation, so setting it at
 * start-up works. The young generation's size cannot be set this way (V8
 * fixes its maximum when the heap is made): the project starts the service
 * with `--max-semi-space-size=4` on the node command line instead
 * (package.json `start`, deploy/systemd/vim-monitor.service).
 */
export const DAEMON_HEAP_FLAGS = ['--heap-growing-percent=25'] as const;

/** The flag that sizes the old generation's growth: given on the node command line, it wins. */
const GROWTH = /^--heap[-_]growing[-_]percent(=|$)/;

/** The flags to set for a daemon started with `execArgv`: none when the operator set the growth. */
export function daemonHeapFlags(execArgv: readonly string[]): readonly string[] {
  return execArgv.some((arg) => GROWTH.test(arg)) ? [] : DAEMON_HEAP_FLAGS;
}

/** Applies daemonHeapFlags to this process; returns what it set. */
export function tuneHeapForDaemon(execArgv: readonly string[] = process.execArgv): readonly string[] {
  const flags = daemonHeapFlags(execArgv);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
