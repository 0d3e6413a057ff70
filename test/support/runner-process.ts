/**
 * A Python WSGI runner of the test fixtures (keystone/keystone_server.py,
 * openstack/wsgi_server.py), spoken to through one line protocol: it prints
 * `PORT <n>` once listening and `READY` once its application is built, builds
 * it only after `go` on stdin when started with --wait-for-go, and exits when
 * its stdin closes (--exit-on-eof).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface RunnerProcess {
  port: number;
  go(): void;
  waitReady(timeoutMs: number): Promise<void>;
  /** EOF on stdin and SIGTERM (SIGKILL after 5 s); resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
}

export interface RunnerOptions {
  /** Names the runner in errors, e.g. 'Keystone'. */
  label: string;
  python: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The runner's stderr (request log, tracebacks). */
  logFile: string;
  /** How long to wait for its PORT line. */
  timeoutMs: number;
}

export async function spawnRunner(opts: RunnerOptions): Promise<RunnerProcess> {
  const log = await openFile(opts.logFile, 'a');
  const child: ChildProcess = spawn(opts.python, opts.args, { stdio: ['pipe', 'pipe', log.fd], env: { ...opts.env, PYTHONUNBUFFERED: '1' } });
  await log.close();
  child.stdin?.on('error', () => undefined);

  let exitInfo: string | undefined;
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.on('exit', (code, signal) => {
    exitInfo = `exited with ${signal ?? `code ${code}`}`;
    wake();
  });
  child.on('error', (err) => {
    exitInfo = `could not start: ${err.message}`;
    wake();
  });
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      wake();
    });
  }

  const waitFor = (predicate: (line: string) => boolean, what: string, ms: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = waiters.indexOf(check);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error(`${opts.label} test server: no ${what} within ${ms} ms (log: ${opts.logFile})`));
      }, ms);
      function check(): void {
        const found = lines.find(predicate);
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else if (exitInfo !== undefined) {
          clearTimeout(timer);
          reject(new Error(`${opts.label} test server ${exitInfo} before ${what} (log: ${opts.logFile})`));
        } else {
          waiters.push(check);
        }
      }
      check();
    });

  const stop = async (): Promise<void> => {
    if (exitInfo !== undefined) return;
    const gone = new Promise<void>((resolve) =>
      waiters.push(function onExit() {
        if (exitInfo !== undefined) resolve();
        else waiters.push(onExit);
      }),
    );
    child.stdin?.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  };

  let portLine: string;
  try {
    portLine = await waitFor((l) => l.startsWith('PORT '), 'PORT line', Math.min(opts.timeoutMs, 30_000));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port: Number(portLine.slice(5)),
    go: () => {
      child.stdin?.write('go\n');
    },
    waitReady: async (ms) => {
      await waitFor((l) => l === 'READY', 'READY line', ms);
    },
    stop,
  };
}

/**
 * Directories of fixtures still running when the test process exits without
 * their close(): removed by one exit hook (the runners exit by themselves when
 * their stdin closes). `keepVariable` set to 1 keeps them for debugging.
 */
export class FixtureDirs {
  private readonly live = new Set<string>();
  private hooked = false;

  constructor(private readonly keepVariable: string) {}

  remember(dir: string): void {
    this.live.add(dir);
    if (this.hooked) return;
    this.hooked = true;
    process.on('exit', () => {
      if (process.env[this.keepVariable] === '1') return;
      for (const d of this.live) rmSync(d, { recursive: true, force: true });
    });
  }

  forget(dir: string): void {
    this.live.delete(dir);
  }
}
