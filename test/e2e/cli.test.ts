import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = join(process.cwd(), 'dist', 'cli', 'main.js');

/** The built `vim-monitor` command as an operator runs it (npm test builds dist/ first). */
describe('the vim-monitor command', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function workdir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-cli-'));
    dirs.push(dir);
    return dir;
  }

  it('serves the API on the embedded default with no configuration and stops cleanly on SIGTERM', async () => {
    const cwd = workdir();
    const child = spawn(process.execPath, [CLI, 'serve'], {
      cwd,
      env: { ...process.env, VIM_MONITOR_SERVER_PORT: '0', VIM_MONITOR_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in: ${output}`)), 15_000);
      child.stdout?.on('data', () => {
        const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*listening/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const response = await fetch(`${url}/v1.0/vims`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ vims: [] });
    expect(output).toMatch(/noauth.*loopback only/);
    expect(output).toMatch(/created a new secret key file/);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it.each([
    ['an unknown key', 'server:\n  colour: blue\n', {}, /unknown configuration key server\.colour/],
    ['a bad port', 'server:\n  port: 70000\n', {}, /configuration key server\.port is invalid/],
    ['a bad database URL', 'database:\n  url: "oracle://x"\n', {}, /database\.url/],
    ['keystone without its settings', 'auth:\n  strategy: keystone\n', {}, /missing configuration key auth\.keystone/],
    ['a bad environment value', '', { VIM_MONITOR_SERVER_PORT: 'eighty' }, /server\.port \(from VIM_MONITOR_SERVER_PORT\) must be a number/],
  ])('stops at start-up with one line naming the key for %s', (_what, yaml, env, message) => {
    const cwd = workdir();
    writeFileSync(join(cwd, 'config.yaml'), yaml);
    const result = spawnSync(process.execPath, [CLI, 'serve', '--config', 'config.yaml'], {
      cwd,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^vim-monitor: invalid configuration: /);
    expect(lines[0]).toMatch(message);
  });

  it('refuses a second process on the same SQLite file with a message that names the way out', async () => {
    const cwd = workdir();
    const env = { ...process.env, VIM_MONITOR_SERVER_PORT: '0', VIM_MONITOR_LOG_FORMAT: 'json' };
    const first = spawn(process.execPath, [CLI, 'serve'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(first);
    let output = '';
    first.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`first process did not start: ${output}`)), 15_000);
      first.stdout?.on('data', () => {
        if (output.includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const second = spawnSync(process.execPath, [CLI, 'worker'], { cwd, env, encoding: 'utf8', timeout: 15_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/in use by process \d+: one vim-monitor process per SQLite file; use PostgreSQL or MariaDB/);
  });

  it('applies migrations with db upgrade, then reports the database up to date', () => {
    const cwd = workdir();
    const env = { ...process.env, VIM_MONITOR_DATABASE_URL: 'sqlite:./state/v.db' };
    const first = spawnSync(process.execPath, [CLI, 'db', 'upgrade'], { cwd, env, encoding: 'utf8' });
    expect(first.stdout).toMatch(/applied 0001-create-vims/);
    const second = spawnSync(process.execPath, [CLI, 'db', 'upgrade'], { cwd, env, encoding: 'utf8' });
    expect(second.stdout).toMatch(/already up to date/);
  });
});
