import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DAEMON_HEAP_FLAGS, daemonHeapFlags } from './heap-tuning.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('heap sizing of the service', () => {
  it('lets the old generation grow 25 % past what survived, unless the node command line sets the growth', () => {
    expect(daemonHeapFlags([])).toEqual(['--heap-growing-percent=25']);
    expect(daemonHeapFlags(['--max-semi-space-size=4', '--max-old-space-size=512'])).toEqual(DAEMON_HEAP_FLAGS);
    expect(daemonHeapFlags(['--heap-growing-percent=50'])).toEqual([]);
    expect(daemonHeapFlags(['--heap_growing_percent=50'])).toEqual([]);
  });

  it('starts the service with a 4 MiB young generation everywhere the project starts it', () => {
    // V8 fixes the young generation's maximum before any code runs: the node command line is the only place.
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start ?? '';
    expect(start).toMatch(/\bnode --max-semi-space-size=4 dist\/cli\/main\.js serve\b/);
    expect(read('deploy/systemd/vim-monitor.service')).toMatch(/^ExecStart=\/usr\/bin\/node --max-semi-space-size=4 \/opt\/vim-monitor\/dist\/cli\/main\.js serve /m);
    // The benchmark measures the service as it is started.
    expect(read('bench/vim-monitor.ts')).toContain("export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=4'];");
  });
});
