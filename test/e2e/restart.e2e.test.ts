/**
 * The service is killed with SIGKILL and started again on the same SQLite
 * database: every monitor is back, statuses carry on, and no event is lost
 * or written twice. Real process, real TCP targets on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/monitoring.js';
import { TcpTarget } from '../support/tcp-target.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'main.js');

interface Served {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function serve(cwd: string): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    cwd,
    env: {
      ...process.env,
      VIM_MONITOR_SERVER_PORT: '0',
      VIM_MONITOR_LOG_FORMAT: 'json',
      VIM_MONITOR_MONITOR_PROBES: 'tcp',
      VIM_MONITOR_MONITOR_INTERVAL: '0.5',
      VIM_MONITOR_MONITOR_TIMEOUT: '0.3',
      VIM_MONITOR_MONITOR_FAILURE_THRESHOLD: '2',
      VIM_MONITOR_MONITOR_SUCCESS_THRESHOLD: '2',
      VIM_MONITOR_MANAGER_SWEEP_INTERVAL: '1',
      // A VIM's first deep run comes at a random moment within deep_interval (60 s by default): one that fell into
      // the seconds this test watches added a HEALTH event it does not expect (about 1 run in 12). Spread over a day.
      VIM_MONITOR_HEALTH_DEEP_INTERVAL: '86400',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const url = await waitFor('the listening line', () => /"url":"(http:\/\/127\.0\.0\.1:\d+)".*listening/.exec(text)?.[1], 15_000);
  return { child, url, output: () => text };
}

async function json(url: string, init?: RequestInit): Promise<any> {
  const response = await fetch(url, init);
  return response.json();
}

describe('a SIGKILL and a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-restart-'));
  const live = new TcpTarget();
  const dead = new TcpTarget();
  const running: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await live.down();
    await dead.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bring every monitor back with statuses carried on and no event lost or duplicated', async () => {
    await live.up();
    await dead.up();
    const deadPort = dead.port;
    await dead.down();
    const first = await serve(dir);
    running.push(first.child);
    const register = async (name: string, port: number) =>
      (
        await json(`${first.url}/v1.0/vims`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            vim: { name, type: 'openstack', auth_url: `http://127.0.0.1:${port}`, auth_cred: { username: 'u', password: 'p' }, vim_project: { name: 'p' } },
          }),
        })
      ).vim.id as string;
    const up = await register('live', live.port);
    const down = await register('dead', deadPort);
    const statuses = async (url: string) =>
      Object.fromEntries(((await json(`${url}/v1.0/vims?fields=id&fields=status`)).vims as Array<{ id: string; status: string }>).map((v) => [v.id, v.status]));
    await waitFor('first verdicts', async () => {
      const s = await statuses(first.url);
      return s[up] === 'REACHABLE' && s[down] === 'UNREACHABLE' ? true : undefined;
    });
    const eventsBefore = (await json(`${first.url}/v1.0/events`)).events;
    // Each first verdict is a status change (MONITOR) and the first conditions of its VIM (HEALTH).
    expect(eventsBefore.map((e: { event_type: string; resource_state: string }) => `${e.event_type} ${e.resource_state}`).sort()).toEqual([
      'HEALTH REACHABLE',
      'HEALTH UNREACHABLE',
      'MONITOR REACHABLE',
      'MONITOR UNREACHABLE',
    ]);
    const monitorsBefore = (await json(`${first.url}/v1.0/monitors`)).monitors.map((m: { monitor_id: string }) => m.monitor_id);

    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await serve(dir);
    running.push(second.child);
    const monitors = (await json(`${second.url}/v1.0/monitors`)).monitors as Array<{ vim_id: string; monitor_id: string; status: string }>;
    expect(monitors.map((m) => m.vim_id).sort()).toEqual([up, down].sort());
    for (const monitor of monitors) expect(monitorsBefore).not.toContain(monitor.monitor_id);
    expect(Object.fromEntries(monitors.map((m) => [m.vim_id, m.status]))).toEqual({ [up]: 'REACHABLE', [down]: 'UNREACHABLE' });

    // Several rounds later nothing changed, so nothing new was written.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await json(`${second.url}/v1.0/events`)).events).toEqual(eventsBefore);
    expect(await statuses(second.url)).toEqual({ [up]: 'REACHABLE', [down]: 'UNREACHABLE' });

    // And the restored monitors really watch: the dead target comes back, one new event.
    dead.port = deadPort;
    await dead.up();
    await waitFor('recovery', async () => ((await statuses(second.url))[down] === 'REACHABLE' ? true : undefined), 5_000);
    const after = (await json(`${second.url}/v1.0/events`)).events as Array<{ id: number; resource_id: string; resource_state: string; event_type: string }>;
    expect(after.slice(0, eventsBefore.length)).toEqual(eventsBefore);
    // Conditions follow the status thresholds: they change with the status, in the same round (the MONITOR
    // event, then the HEALTH event that lists the conditions it changed), not at the first good round.
    expect(after.slice(eventsBefore.length).map((e) => [e.resource_id, e.event_type, e.resource_state])).toEqual([
      [down, 'MONITOR', 'REACHABLE'],
      [down, 'HEALTH', 'REACHABLE'],
    ]);
  });
});
