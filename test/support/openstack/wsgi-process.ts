/**
 * One OpenStack API process run by wsgi_server.py (same directory), spoken to
 * through its stdout lines `PORT <n>` and `READY` and its stdin (`go`, EOF).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnRunner, type RunnerProcess } from '../runner-process.js';

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

export type WsgiProcess = RunnerProcess;

export async function spawnWsgiProcess(opts: WsgiProcessOptions, timeoutMs: number): Promise<WsgiProcess> {
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
  return spawnRunner({
    label: opts.app,
    python: opts.python,
    args,
    // Everything these services call is on loopback: never through a proxy.
    env: { ...withoutProxies(process.env), NO_PROXY: '*', no_proxy: '*' },
    logFile: opts.logFile,
    timeoutMs,
  });
}

function withoutProxies(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (!/^(https?|all|no)_proxy$/i.test(k)) out[k] = v;
  }
  return out;
}
