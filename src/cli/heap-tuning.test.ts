import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DAEMON_HEAP_FLAGS, daemonHeapFlags } from './heap-tuning.js';

/** A node process that sets `flags` at run time (as the CLI does), allocates steadily, and prints its young generation's size in bytes. */
function youngGenerationAfterAllocating(flags: readonly string[]): number {
  const script = `
    const v8 = require('node:v8');
    for (const flag of ${JSON.stringify(flags)}) v8.setFlagsFromString(flag);
    let keep = [];
    for (let i = 0; i < 3e6; i += 1) { keep.push({ i, s: 'x' + i }); if (keep.length > 50000) keep = []; }
    process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size));`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(result.status, result.stderr).toBe(0);
  return Number(result.stdout);
}

describe('heap tuning of the serve and worker commands', () => {
  it('sets the daemon flags when the node command line sizes nothing', () => {
    expect(daemonHeapFlags([])).toEqual(DAEMON_HEAP_FLAGS);
    expect(daemonHeapFlags(['--enable-source-maps', '--max-old-space-size=512'])).toEqual(DAEMON_HEAP_FLAGS);
  });

  it('leaves the heap alone when the operator sized it on the node command line', () => {
    expect(daemonHeapFlags(['--max-semi-space-size=8'])).toEqual([]);
    expect(daemonHeapFlags(['--heap_growing_percent=50'])).toEqual([]);
    expect(daemonHeapFlags(['--semi-space-growth-factor', '2'])).toEqual([]);
  });

  it('keeps the young generation at its initial size when set at run time, where the defaults grow it to 32 MiB', () => {
    const tuned = youngGenerationAfterAllocating(DAEMON_HEAP_FLAGS);
    const untuned = youngGenerationAfterAllocating([]);
    expect(tuned).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(untuned).toBeGreaterThan(8 * 1024 * 1024);
  });
});
