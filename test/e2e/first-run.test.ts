import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, startServe, tempWorkdir, type ServeProcess } from '../support/cli-process.js';

// Every place the service looks for the tools: findExecutable() also tries these beside PATH.
const TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * `serve` on a machine without fping and ping. The tools cannot be uninstalled
 * here (other suites need them), so the process runs in its own mount
 * namespace where /dev/null (not executable) is mounted over each of them,
 * with a PATH that holds only node.
 */
function withoutIcmpTools(): string[] {
  const hide = TOOL_DIRS.flatMap((dir) => ['fping', 'ping'].map((name) => join(dir, name))).filter((path) => existsSync(path));
  const mounts = hide.map((path) => `mount --bind /dev/null ${path}`).join(' && ');
  return ['unshare', '--mount', '--', 'sh', '-c', `${mounts || 'true'} && exec "$0" "$@"`, process.execPath, CLI, 'serve'];
}

describe('the first run of vim-monitor serve', () => {
  const processes: ServeProcess[] = [];
  const dirs: Array<() => void> = [];
  afterEach(() => {
    for (const p of processes.splice(0)) p.child.kill('SIGKILL');
    for (const remove of dirs.splice(0)) remove();
  });

  async function serve(env: Record<string, string>): Promise<ServeProcess> {
    const work = tempWorkdir();
    dirs.push(work.remove);
    const running = await startServe({ cwd: work.dir, command: withoutIcmpTools(), env: { PATH: dirname(process.execPath), ...env } });
    processes.push(running);
    return running;
  }

  function lines(output: string): Array<{ level: number; msg: string }> {
    return output
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string });
  }

  it('says at start-up, once and with the fix, that neither fping nor ping is installed when the icmp probe runs on the Node.js drivers', async () => {
    // The native engine (the default where it is built) pings without fping: only the fallback needs it.
    const running = await serve({ VIM_MONITOR_MONITOR_PROBES: 'icmp,api', VIM_MONITOR_MONITOR_PROBE_ENGINE: 'node' });
    const warnings = lines(running.output()).filter((l) => l.level >= 40 && l.msg.includes('fping'));
    expect(warnings).toEqual([
      expect.objectContaining({ level: 50, msg: expect.stringMatching(/neither fping nor iputils ping found: .*apt-get install fping/) }),
    ]);
  });

  it('says nothing about ICMP tools when icmp is not among monitor.probes', async () => {
    const running = await serve({ VIM_MONITOR_MONITOR_PROBES: 'tcp,api' });
    expect(running.output()).toMatch(/listening/);
    expect(running.output()).not.toMatch(/fping/);
  });
});
