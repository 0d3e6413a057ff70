/**
 * Child processes of the benchmark: every one is tied to this process's life
 * (setpriv --pdeathsig KILL, so nothing of ours keeps running if the
 * benchmark is killed), logged to a file, and stopped by its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { nowMs, sleep } from './util.js';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly process: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once it has exited. */
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of its log, for error messages. */
  tail(lines?: number): string;
}

const live = new Set<Child>();

/** Kills every child still running (synchronously: also usable from an 'exit' handler). */
export function killAllChildren(): void {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  /** Runs the command inside this network namespace (`ip netns exec`). */
  namespace?: string;
  /** Called with every line the child writes to stdout. */
  onLine?: (line: string) => void;
}

export function spawnChild(options: SpawnOptions): Child {
  let argv = [options.command, ...options.args];
  if (SETPRIV) argv = [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv];
  if (options.namespace) argv = ['ip', 'netns', 'exec', options.namespace, ...argv];
  const [command, ...args] = argv as [string, ...string[]];
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  const log = createWriteStream(options.logFile, { flags: 'a' });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  if (options.onLine) createInterface({ input: child.stdout }).on('line', options.onLine);
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      live.delete(handle);
      // Let the pipes drain into the log before closing it.
      setTimeout(() => log.end(), 50);
      resolve({ code, signal });
    });
  });
  const handle: Child = {
    name: options.name,
    pid: child.pid,
    logFile: options.logFile,
    process: child,
    exited,
    hasExited: () => exitedFlag,
    async stop(graceMs = 15_000) {
      if (exitedFlag) return exited;
      child.kill('SIGTERM');
      const deadline = nowMs() + graceMs;
      while (!exitedFlag && nowMs() < deadline) await sleep(50);
      if (!exitedFlag) child.kill('SIGKILL');
      return exited;
    },
    tail(lines = 20) {
      try {
        return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
  live.add(handle);
  return handle;
}

/** Resolves with the first stdout JSON line that has `key`, or rejects when the child exits or `timeoutMs` passes. */
export function firstJsonLine<T>(child: Child, key: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${child.name}: no '${key}' within ${timeoutMs} ms\n${child.tail()}`)), timeoutMs);
    let found = false;
    // Not closed when found: closing a readline pauses its input, which would stall the log pipe.
    createInterface({ input: child.process.stdout! }).on('line', (line) => {
      if (found) return;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (key in parsed) {
          found = true;
          clearTimeout(timer);
          resolve(parsed as T);
        }
      } catch {
        // not JSON
      }
    });
    void child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${child.name} exited (${code ?? signal}) before '${key}'\n${child.tail()}`));
    });
  });
}
