/**
 * One OpenStack API process run by wsgi_server.py (same directory), spoken to
 * through its stdout lines `PORT <n>` and `READY` and its stdin (`go`, EOF).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { open as openFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'wsgi_server.py');

export interface WsgiProcessOptions {
  python: string;
  app: 'placement' | 'glance' | 'nova';
  configDir: string;
  sqliteDbs: string[];
  /** runner's stderr (request log, tracebacks) */
  logFile: string;
  /** 0: any free port */
  port: number;
  /** build the application only after go() (the database is being migrated) */
  waitForGo: boolean;
}

export interface WsgiProcess {
  port: number;
  go(): void;
  waitReady(timeoutMs: number): Promise<void>;
  /** EOF on stdin and SIGTERM (SIGKILL after 5 s); resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
}

export async function spawnWsgiProcess(opts: WsgiProcessOptions, timeoutMs: number): Promise<WsgiProcess> {
  const log = await openFile(opts.logFile, 'a');
  const args = [
    RUNNER,
    '--app', opts.app,
    '--config-dir', opts.configDir,
    ...opts.sqliteDbs.flatMap((db) => ['--sqlite-db', db]),
    '--host', '127.0.0.1',
    '--port', String(opts.port),
    '--exit-on-eof',
  ];
  if (opts.waitForGo) args.push('--wait-for-go');
  const child: ChildProcess = spawn(opts.python, args, {
    stdio: ['pipe', 'pipe', log.fd],
    // Everything these services call is on loopback: never through a proxy.
    env: { ...withoutProxies(process.env), PYTHONUNBUFFERED: '1', NO_PROXY: '*', no_proxy: '*' },
  });
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
        reject(new Error(`${opts.app} test server: no ${what} within ${ms} ms (log: ${opts.logFile})`));
      }, ms);
      function check(): void {
        const found = lines.find(predicate);
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else if (exitInfo !== undefined) {
          clearTimeout(timer);
          reject(new Error(`${opts.app} test server ${exitInfo} before ${what} (log: ${opts.logFile})`));
        } else {
          waiters.push(check);
        }
      }
      check();
    });

  const stop = async (): Promise<void> => {
    if (exitInfo !== undefined) return;
    const gone = new Promise<void>((resolve) => waiters.push(function onExit() {
      if (exitInfo !== undefined) resolve();
      else waiters.push(onExit);
    }));
    child.stdin?.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  };

  let portLine: string;
  try {
    portLine = await waitFor((l) => l.startsWith('PORT '), 'PORT line', Math.min(timeoutMs, 30_000));
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

function withoutProxies(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (!/^(https?|all|no)_proxy$/i.test(k)) out[k] = v;
  }
  return out;
}
