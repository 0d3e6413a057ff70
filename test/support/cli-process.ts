import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The built command (npm test builds dist/ first). */
export const CLI = join(process.cwd(), 'dist', 'cli', 'main.js');

export interface ServeProcess {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** Everything written to stdout (JSON log lines) so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) and how long after this call it came. */
  exited(): Promise<{ code: number | null; afterMs: number }>;
}

/**
 * `vim-monitor serve` as an operator runs it, in its own working directory
 * (SQLite and key file under ./data), listening on a free loopback port.
 * Settles once the API is listening.
 */
export async function startServe(options: { cwd: string; env?: Record<string, string>; command?: string[] } & Pick<SpawnOptions, 'stdio'>): Promise<ServeProcess> {
  const env = { ...process.env, VIM_MONITOR_SERVER_PORT: '0', VIM_MONITOR_LOG_FORMAT: 'json', ...options.env };
  const [command, ...args] = options.command ?? [process.execPath, CLI, 'serve'];
  const child = spawn(command ?? process.execPath, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${output}${errors}`)), 20_000);
    const look = (): void => {
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*listening/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', look);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening: ${output}${errors}`));
    });
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    output: () => output,
    exited: () => {
      const from = Date.now();
      return exit.then((code) => ({ code, afterMs: Date.now() - from }));
    },
  };
}

/** A working directory per test, removed afterwards by the returned cleanup. */
export function tempWorkdir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-cli-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
