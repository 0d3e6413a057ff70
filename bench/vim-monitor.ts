/**
 * vim-monitor as the benchmark sees it: a child process started from the
 * built CLI (dist/cli/main.js), configured only by VIM_MONITOR_* variables,
 * and its HTTP API. The benchmark imports nothing from src/: it measures the
 * service from outside, as an operator would.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { spawnChild, type Child } from './children.js';
import { nowMs, waitFor } from './util.js';

export interface VimMonitorProcess {
  readonly child: Child;
  readonly pid: number;
  readonly url: string;
  /** When it was spawned (epoch ms). */
  readonly startedAtMs: number;
  /** Seconds from spawn until the API answered. */
  readonly startupSeconds: number;
  readonly api: VimMonitorApi;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** dist/cli/main.js */
  cli: string;
  /** `serve`, or another command of the CLI (e.g. `worker`). */
  command?: string;
  name: string;
  workDir: string;
  /** VIM_MONITOR_* settings, e.g. { DATABASE_URL: 'sqlite:…' }; the prefix is added. */
  settings: Record<string, string | number>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

/**
 * The node flags the project starts the service with everywhere (package.json
 * `start`, deploy/systemd/vim-monitor.service; src/cli/heap-tuning.test.ts
 * keeps the three equal): a 4 MiB young generation, which V8 cannot be told
 * once the process runs. Extra flags of the benchmark (--node-arg) come after.
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=4'];

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function childEnv(settings: Record<string, string | number>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VIM_MONITOR_')));
  for (const [key, value] of Object.entries(settings)) env[`VIM_MONITOR_${key}`] = String(value);
  return env;
}

/** `vim-monitor worker`: monitors only, no API, so nothing to wait for but its start. */
export function startWorker(options: Omit<StartOptions, 'command' | 'readyTimeoutMs'> & { namespace?: string }): Child {
  return spawnChild({
    ...(options.namespace && { namespace: options.namespace }),
    name: options.name,
    command: process.execPath,
    args: [...SERVICE_NODE_FLAGS, ...(options.nodeArgs ?? []), options.cli, 'worker'],
    env: childEnv({ LOG_FORMAT: 'json', LOG_LEVEL: 'warn', ...options.settings }),
    cwd: options.workDir,
    logFile: join(options.workDir, `${options.name}.log`),
  });
}

/**
 * Starts `vim-monitor serve` on a free loopback port and waits until its API
 * answers. Log level warn keeps per-request logging out of the measurement,
 * so readiness is seen by polling `GET /` rather than from the log.
 */
export async function startVimMonitor(options: StartOptions): Promise<VimMonitorProcess> {
  const port = await freePort();
  const env = childEnv({ SERVER_HOST: '127.0.0.1', SERVER_PORT: port, LOG_FORMAT: 'json', LOG_LEVEL: 'warn', ...options.settings });
  const startedAt = nowMs();
  const child = spawnChild({
    name: options.name,
    command: process.execPath,
    args: [...SERVICE_NODE_FLAGS, ...(options.nodeArgs ?? []), options.cli, options.command ?? 'serve'],
    env,
    cwd: options.workDir,
    logFile: join(options.workDir, `${options.name}.log`),
  });
  const url = `http://127.0.0.1:${port}`;
  const api = new VimMonitorApi(url);
  try {
    await waitFor(
      `${options.name} to answer on ${url}`,
      async () => {
        if (child.hasExited()) throw new Error(`${options.name} exited during start-up:\n${child.tail()}`);
        const response = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        return response.ok ? true : undefined;
      },
      { timeoutMs: options.readyTimeoutMs ?? 300_000, everyMs: 100 },
    );
  } catch (error) {
    await child.stop(2000);
    throw error;
  }
  const startupSeconds = (nowMs() - startedAt) / 1000;
  return {
    child,
    pid: child.pid,
    url,
    startedAtMs: startedAt,
    startupSeconds,
    api,
    async stop() {
      await child.stop(20_000);
    },
  };
}

export interface RoundsSnapshot {
  scheduled: number;
  executed: number;
  late_over_1s: number;
  lateness_ms: { p50: number; p99: number; max: number };
}

export interface ManagerStats {
  owner: string;
  monitors: number;
  replacements: number;
  rounds: RoundsSnapshot;
  pending_writes: number;
}

export interface VimSpec {
  name: string;
  authUrl: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The few calls of vim-monitor's Tacker v1.0 API the benchmark makes (noauth: every caller is admin). */
export class VimMonitorApi {
  constructor(readonly url: string) {}

  async request<T>(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new ApiError(response.status, `${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async createVim(spec: VimSpec): Promise<string> {
    const { vim } = await this.request<{ vim: { id: string } }>('POST', '/v1.0/vims', {
      vim: {
        name: spec.name,
        type: 'openstack',
        auth_url: spec.authUrl,
        auth_cred: { username: 'bench', password: 'bench-password', user_domain_name: 'Default' },
        vim_project: { name: 'bench', project_domain_name: 'Default' },
      },
    });
    return vim.id;
  }

  /** Ids of the VIMs in any of the given statuses. */
  async idsWithStatus(...statuses: string[]): Promise<string[]> {
    const query = [...statuses.map((s) => `status=${s}`), 'fields=id'].join('&');
    const { vims } = await this.request<{ vims: Array<{ id: string }> }>('GET', `/v1.0/vims?${query}`);
    return vims.map((v) => v.id);
  }

  async manager(): Promise<ManagerStats> {
    const { manager } = await this.request<{ manager: ManagerStats }>('GET', '/v1.0/manager');
    return manager;
  }

  async monitorOf(vimId: string): Promise<unknown> {
    return (await this.request<{ monitor: unknown }>('GET', `/v1.0/vims/${vimId}/monitor`)).monitor;
  }

  async monitors(): Promise<Array<Record<string, unknown>>> {
    return (await this.request<{ monitors: Array<Record<string, unknown>> }>('GET', '/v1.0/monitors')).monitors;
  }
}

/** Counts the warning and error lines of a vim-monitor JSON log by message. */
export function logMessages(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) < 40) continue;
      const key = `${entry.level === 40 ? 'warn' : entry.level === 50 ? 'error' : 'fatal'}: ${entry.msg ?? ''}`;
      counts[key] = (counts[key] ?? 0) + 1;
    } catch {
      // not a log line
    }
  }
  return counts;
}

