/**
 * What an ICMP check costs without vim-monitor, on the same targets:
 *
 * - legacy: Tacker's design, one `ping -c 1 -W 1 <addr>` process per check
 *   per VIM;
 * - fping: fping alone, one process per batch of addresses (the batch size
 *   vim-monitor's rounds have), with the arguments vim-monitor uses.
 *
 * CPU comes from this process's /proc/self/stat: cutime + cstime grow by the
 * CPU of each child once it has been waited for, which Node does for every
 * child. Nothing else of ours may exit while they run (the benchmark's other
 * children are long-lived servers). `spawnerCpuSeconds` is this process's own
 * CPU meanwhile: what forking and reading the output cost the caller.
 */
import { spawn } from 'node:child_process';
import { cpuTimes } from './proc.js';
import { nowMs, pool } from './util.js';

export interface ReferenceResult {
  checks: number;
  /** Checks whose target answered (all targets are up while references run). */
  alive: number;
  wallSeconds: number;
  /** CPU of the ping/fping processes. */
  childCpuSeconds: number;
  /** CPU of the process that spawned them, meanwhile. */
  spawnerCpuSeconds: number;
  /** childCpuSeconds / checks, in microseconds. */
  cpuUsPerCheck: number;
  /** (childCpuSeconds + spawnerCpuSeconds) / checks, in microseconds. */
  cpuUsPerCheckWithSpawner: number;
  processes: number;
  command: string;
}

export function run(command: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

/** Runs `work` and charges it the CPU of the children this process reaped meanwhile. */
export async function measure(work: () => Promise<{ checks: number; alive: number; processes: number }>, command: string): Promise<ReferenceResult> {
  const before = cpuTimes('self');
  const startedAt = nowMs();
  const { checks, alive, processes } = await work();
  const wallSeconds = (nowMs() - startedAt) / 1000;
  const after = cpuTimes('self');
  const childCpuSeconds = after.children - before.children;
  const spawnerCpuSeconds = after.self - before.self;
  return {
    checks,
    alive,
    wallSeconds,
    childCpuSeconds,
    spawnerCpuSeconds,
    cpuUsPerCheck: (childCpuSeconds / checks) * 1e6,
    cpuUsPerCheckWithSpawner: ((childCpuSeconds + spawnerCpuSeconds) / checks) * 1e6,
    processes,
    command,
  };
}

/** `ping -c 1 -W 1 <addr>` once per address of the sample, `concurrency` at a time. */
export function legacyPing(addresses: readonly string[], concurrency = 4): Promise<ReferenceResult> {
  return measure(async () => {
    const codes = await pool(addresses, concurrency, async (address) => (await run('ping', ['-c', '1', '-W', '1', address])).code);
    return { checks: addresses.length, alive: codes.filter((code) => code === 0).length, processes: addresses.length };
  }, 'ping -c 1 -W 1 <addr>  (one process per check)');
}

/**
 * fping over `passes` × all addresses, in batches of `batchSize` addresses
 * per process (`concurrency` processes at a time), with vim-monitor's
 * arguments: `fping -C 1 -t 1000 -r 0 -B 1 -i 1 -q -f -`.
 */
export function fpingBatches(addresses: readonly string[], batchSize: number, passes: number, concurrency = 4): Promise<ReferenceResult> {
  const args = ['-C', '1', '-t', '1000', '-r', '0', '-B', '1', '-i', '1', '-q', '-f', '-'];
  const batches: string[][] = [];
  for (let pass = 0; pass < passes; pass++) {
    for (let i = 0; i < addresses.length; i += batchSize) batches.push(addresses.slice(i, i + batchSize));
  }
  return measure(async () => {
    const alive = await pool(batches, concurrency, async (batch) => {
      const { stderr } = await run('fping', args, `${batch.join('\n')}\n`);
      // -q -C 1: one summary line per target on stderr, 'addr : rtt' or 'addr : -'.
      return stderr.split('\n').filter((line) => /:\s+\d/.test(line)).length;
    });
    return { checks: batches.reduce((n, b) => n + b.length, 0), alive: alive.reduce((a, b) => a + b, 0), processes: batches.length };
  }, `fping ${args.join(' ')}  (addresses on stdin, ${batchSize} per process)`);
}
