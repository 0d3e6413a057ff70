/**
 * The floors of issue 13: what the kernel and a minimal process cost for one
 * VIM round (one ICMP echo and one api exchange) on the same targets, in the
 * same run, so that vim-monitor's CPU per VIM round can be stated as a ratio
 * to them rather than against figures from another day.
 *
 * - ICMP: one fping process over all N targets (not batches), once per
 *   pass, `-C 1 -t 1000 -r 0 -q -i <interval>`, passes until ≥ 5,000 checks.
 * - HTTP: bench/floor/http-floor.c, compiled here with `cc -O2`: for each
 *   target a non-blocking connect, the api probe's request, one read for the
 *   status line, close; as many at once on one epoll loop as one tick of
 *   vim-monitor starts; passes until ≥ 5,000 exchanges.
 *
 * CPU is that of the child processes, from this process's cutime + cstime
 * (references.ts: measure), while no vim-monitor runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, run, type ReferenceResult } from './references.js';
import { round } from './util.js';

/** bench/floor/http-floor.c in the repository (this file runs from dist-bench/bench/). */
const HTTP_FLOOR_SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench/floor/http-floor.c');

/** Checks each floor is measured over, at least: fewer give a CPU figure of a few clock ticks. */
const MIN_CHECKS = 5000;

export interface FloorPart {
  checks: number;
  /** Checks that got an echo reply / a status line (every target is up while floors run). */
  ok: number;
  wall_s: number;
  cpu_s: number;
  cpu_us_per_check: number;
  processes: number;
  command: string;
}

export interface Floors {
  icmp: FloorPart;
  /** null when the C client could not be built or run (see http_error). */
  http: FloorPart | null;
  http_error?: string;
  /** icmp + http, µs of CPU per VIM round; null without the HTTP floor. */
  per_vim_round_us: number | null;
  /** N × per_vim_round_us every interval, % of one core. */
  cpu_percent_at_interval: number | null;
}

export interface FloorOptions {
  /** Every target of the size: IPv4 addresses, each serving the version document on `port`. */
  addresses: readonly string[];
  port: number;
  intervalSeconds: number;
  /** Exchanges in flight at once: what one tick of vim-monitor starts (N × batch_window ÷ interval). */
  httpConcurrency: number;
  /** fping -i, ms. */
  icmpIntervalMs: number;
  timeoutMs: number;
  /** The compiled client (from buildHttpFloor), or why there is none. */
  httpClient: { path: string } | { error: string };
}

/** Compiles the HTTP floor client into `workDir`; says why not when there is no C compiler or it fails. */
export function buildHttpFloor(workDir: string): { path: string } | { error: string } {
  const compiler = ['cc', 'gcc', 'clang'].find((cc) => {
    try {
      execFileSync(cc, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!compiler) return { error: 'no C compiler (cc, gcc or clang) to build bench/floor/http-floor.c: apt-get install -y gcc' };
  if (!existsSync(HTTP_FLOOR_SOURCE)) return { error: `${HTTP_FLOOR_SOURCE} is missing` };
  mkdirSync(workDir, { recursive: true });
  const path = join(workDir, 'http-floor');
  try {
    execFileSync(compiler, ['-O2', '-o', path, HTTP_FLOOR_SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
    return { path };
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    return { error: `${compiler} -O2 bench/floor/http-floor.c failed: ${stderr.slice(0, 500) || (error as Error).message}` };
  }
}

const part = (r: ReferenceResult): FloorPart => ({
  checks: r.checks,
  ok: r.alive,
  wall_s: round(r.wallSeconds, 2),
  cpu_s: round(r.childCpuSeconds, 3),
  cpu_us_per_check: round(r.cpuUsPerCheck, 1),
  processes: r.processes,
  command: r.command,
});

/** One fping process over every address, `passes` times in a row. */
function icmpFloor(addresses: readonly string[], passes: number, intervalMs: number): Promise<ReferenceResult> {
  const args = ['-C', '1', '-t', '1000', '-r', '0', '-q', '-i', String(intervalMs), '-f', '-'];
  const input = `${addresses.join('\n')}\n`;
  return measure(async () => {
    let alive = 0;
    for (let pass = 0; pass < passes; pass++) {
      const { stderr } = await run('fping', args, input);
      // -q -C 1: one summary line per target on stderr, 'addr : rtt' or 'addr : -'.
      alive += stderr.split('\n').filter((line) => /:\s+\d/.test(line)).length;
    }
    return { checks: addresses.length * passes, alive, processes: passes };
  }, `fping ${args.join(' ')}  (all ${addresses.length} addresses on stdin, one process per pass)`);
}

interface HttpFloorOutput {
  exchanges: number;
  ok: number;
  failed: number;
  first_error: string;
}

function httpFloor(client: string, addresses: readonly string[], port: number, passes: number, concurrency: number, timeoutMs: number): Promise<ReferenceResult> {
  const args = ['--concurrency', String(concurrency), '--passes', String(passes), '--timeout-ms', String(timeoutMs)];
  const input = addresses.map((a) => `${a} ${port}\n`).join('');
  return measure(async () => {
    const { code, stdout, stderr } = await run(client, args, input);
    if (code !== 0) throw new Error(`http-floor exited ${code}: ${stderr.trim().slice(0, 300)}`);
    const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as HttpFloorOutput;
    if (out.ok < out.exchanges * 0.99) throw new Error(`http-floor: only ${out.ok} of ${out.exchanges} exchanges got a status line (first error: ${out.first_error})`);
    return { checks: out.exchanges, alive: out.ok, processes: 1 };
  }, `http-floor ${args.join(' ')}  (epoll; connect, GET /v3, status line, close)`);
}

export async function measureFloors(options: FloorOptions): Promise<Floors> {
  const n = options.addresses.length;
  const passes = Math.max(1, Math.ceil(MIN_CHECKS / n));
  const icmp = part(await icmpFloor(options.addresses, passes, options.icmpIntervalMs));
  let http: FloorPart | null = null;
  let httpError: string | undefined;
  if ('error' in options.httpClient) {
    httpError = options.httpClient.error;
  } else {
    try {
      http = part(await httpFloor(options.httpClient.path, options.addresses, options.port, passes, options.httpConcurrency, options.timeoutMs));
    } catch (error) {
      httpError = error instanceof Error ? error.message : String(error);
    }
  }
  const perRound = http ? icmp.cpu_us_per_check + http.cpu_us_per_check : null;
  return {
    icmp,
    http,
    ...(httpError !== undefined && { http_error: httpError }),
    per_vim_round_us: perRound === null ? null : round(perRound, 1),
    cpu_percent_at_interval: perRound === null ? null : round(((n * perRound) / 1e6 / options.intervalSeconds) * 100, 2),
  };
}
