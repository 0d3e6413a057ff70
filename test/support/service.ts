import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startService, type RunningService } from '../../src/app/service.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import type { Probe } from '../../src/probes/probe.js';

export interface TestService extends RunningService {
  /** Holds the key file and, by default, the SQLite database (vim-monitor.db). */
  dataDir: string;
  /** Everything the service logged so far (JSON lines, level trace). */
  logText(): string;
  api(method: string, path: string, options?: { body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<ApiResponse>;
  stop(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  text: string;
  /** Parsed body; `any` is confined to tests, where assertions do the checking. */
  json: any;
}

export interface TestServiceOptions {
  databaseUrl?: string;
  auth?: Partial<Config['auth']>;
  /** Monitoring is off unless asked for, so API tests send no probe anywhere. */
  monitoring?: {
    monitor?: Partial<Config['monitor']>;
    manager?: Partial<Config['manager']>;
    health?: Partial<Config['health']>;
    /** The isolation guard (on by default, as in production). */
    guard?: Partial<Config['guard']>;
    probes?: Probe[];
  };
  outbox?: Partial<Config['outbox']>;
  /** base64 of 32 bytes: the same key across restarts on one database. */
  secretKey?: string;
  webhooks?: Partial<Config['webhooks']>;
  egress?: Partial<Config['egress']>;
  notifications?: Partial<Config['notifications']>;
  maintenance?: Partial<Config['maintenance']>;
  flap?: Partial<Config['flap']>;
  confirm?: Partial<Config['confirm']>;
  history?: Partial<Config['history']>;
  ui?: Partial<Config['ui']>;
}

/** The real service, in this process, on a free loopback port, logging everything at trace level into memory. */
export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-svc-'));
  const config = validateConfig({
    server: { host: '127.0.0.1', port: 0 },
    database: { url: options.databaseUrl ?? `sqlite:${join(dir, 'vim-monitor.db')}` },
    secrets: { key_file: join(dir, 'secret.key'), ...(options.secretKey && { key: options.secretKey }) },
    log: { level: 'trace' },
    ...(options.auth && { auth: options.auth }),
    monitor: { ...options.monitoring?.monitor },
    ...(options.monitoring?.health && { health: options.monitoring.health }),
    manager: { enabled: options.monitoring !== undefined, ...options.monitoring?.manager },
    ...(options.monitoring?.guard && { guard: options.monitoring.guard }),
    // Quick delivery passes, and receivers on loopback, for the tests.
    outbox: { poll_interval: 0.1, settle: 0.2, retry_base: 0.2, retry_cap: 1, ...options.outbox },
    webhooks: { allow_loopback: true, timeout: 2, ...options.webhooks },
    ...(options.notifications && { notifications: options.notifications }),
    ...(options.egress && { egress: options.egress }),
    ...(options.maintenance && { maintenance: options.maintenance }),
    ...(options.flap && { flap: options.flap }),
    ...(options.confirm && { confirm: options.confirm }),
    ...(options.history && { history: options.history }),
    ...(options.ui && { ui: options.ui }),
  });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const probes = options.monitoring?.probes;
  const service = await startService(config, createLogger(config.log, sink), probes ? { probes } : {});
  const api: TestService['api'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(service.url + path, { method, headers, ...(body !== undefined && { body }) });
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json };
  };
  return {
    ...service,
    dataDir: dir,
    logText: () => lines.join(''),
    api,
    stop: async () => {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
