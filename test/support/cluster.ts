import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './monitoring.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'main.js');

export interface ClusterProcess {
  name: string;
  child: ChildProcess;
  url: string;
  output(): string;
  /** Parsed JSON; `any` stays in tests, where assertions check it. Gives up after 2 s (a paused process never answers). */
  get(path: string): Promise<any>;
  post(path: string, body: unknown): Promise<any>;
}

/**
 * Starts one real `vim-monitor serve` process with the given environment, on a free port; `prefix` runs it through
 * another command (e.g. `ip netns exec NAME`, test/support/vantage-net.ts).
 */
export async function startServeProcess(name: string, env: Record<string, string>, cwd: string, prefix: string[] = []): Promise<ClusterProcess> {
  const [command, ...args] = [...prefix, process.execPath, CLI, 'serve'];
  const child = spawn(command!, args, {
    cwd,
    env: { ...process.env, VIM_MONITOR_SERVER_PORT: '0', VIM_MONITOR_LOG_FORMAT: 'json', VIM_MONITOR_MANAGER_WORKER_NAME: name, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const url = await waitFor(`${name} listening`, () => {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${text}`);
    return /"url":"(http:\/\/\d+\.\d+\.\d+\.\d+:\d+)".*listening/.exec(text)?.[1];
  }, 20_000);
  return {
    name,
    child,
    url,
    output: () => text,
    get: async (path) => (await fetch(url + path, { signal: AbortSignal.timeout(2_000) })).json(),
    post: async (path, body) =>
      (
        await fetch(url + path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(5_000),
        })
      ).json(),
  };
}
