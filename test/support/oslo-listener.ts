/**
 * A real oslo.messaging notification listener (test/support/oslo-listener.py)
 * on the real RabbitMQ, for the AMQP sink's tests.
 *
 * startOsloListener() runs the script with the Debian python (/usr/bin/python3,
 * never the pyenv python first on PATH; override with OSLO_LISTENER_PYTHON),
 * waits until its queues are declared and bound, and collects every
 * notification it decodes. stop() ends it and deletes the queues and the
 * exchange it used, so each test can use names of its own (uniqueName()).
 *
 * Needs RabbitMQ on 127.0.0.1:5672 with guest/guest (VIM_MONITOR_TEST_AMQP_URL
 * overrides the URL) and the Debian package python3-oslo.messaging. When either
 * is missing the fixture fails and says how to get it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from 'amqplib';

export const RABBITMQ_URL = process.env.VIM_MONITOR_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
export const OSLO_PYTHON = process.env.OSLO_LISTENER_PYTHON ?? '/usr/bin/python3';
export const OSLO_INSTALL_HINT = 'apt-get install -y python3-oslo.messaging (run by /usr/bin/python3; see .ci/run)';
export const RABBITMQ_START_HINT = 'start it with `rabbitmq-server -detached` (Debian package rabbitmq-server; see .ci/run)';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'oslo-listener.py');
/** Every priority oslo's listener declares a queue for. */
const PRIORITIES = ['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample'];

/** What the listener's endpoint was called with. */
export interface ReceivedNotification {
  /** The endpoint method oslo dispatched to: the priority in lower case. */
  method: string;
  ctxt: Record<string, unknown>;
  publisher_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  metadata: { message_id: string; timestamp: string };
}

export interface OsloListener {
  readonly received: ReceivedNotification[];
  /** Resolves with the first `count` notifications once that many arrived; rejects after timeoutMs or when the listener dies. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedNotification[]>;
  /** The listener's standard error so far (oslo logs there). */
  stderr(): string;
  stop(): Promise<void>;
}

export interface OsloListenerOptions {
  exchange: string;
  topics: string[];
  /** oslo listener pool: the rabbit driver then consumes from one queue named after the pool. */
  pool?: string;
  url?: string;
  /** Dispatch threads (default 1: notifications are printed in the order they were consumed). */
  workers?: number;
  /** Milliseconds to wait for the listener to be ready (default 30 s). */
  readyTimeoutMs?: number;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** oslo's transport_url form of an amqp:// URL. */
export function toTransportUrl(url: string): string {
  return url.replace(/^amqps?:\/\//, 'rabbit://');
}

/** Fails, saying how to start it, when RabbitMQ does not accept an AMQP connection. */
export async function requireRabbitMq(url: string = RABBITMQ_URL): Promise<void> {
  try {
    const model = await connect(url, { timeout: 5000 });
    await model.close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ECONNREFUSED' ? 'is not running' : `is not usable (${code ?? (err as Error).message})`;
    throw new Error(`RabbitMQ ${what} at ${url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}: ${RABBITMQ_START_HINT}`);
  }
}

/** Deletes the `<topic>.<priority>` queues and the exchange (what oslo's listener and notifier leave behind). */
export async function deleteOsloTopology(options: { exchange: string; topics: string[]; pool?: string; url?: string }): Promise<void> {
  const model = await connect(options.url ?? RABBITMQ_URL, { timeout: 5000 });
  try {
    const channel = await model.createChannel();
    for (const topic of options.topics) {
      for (const priority of PRIORITIES) await channel.deleteQueue(`${topic}.${priority}`);
    }
    if (options.pool) await channel.deleteQueue(options.pool);
    await channel.deleteExchange(options.exchange);
    await channel.close();
  } finally {
    await model.close().catch(() => undefined);
  }
}

export async function startOsloListener(options: OsloListenerOptions): Promise<OsloListener> {
  const url = options.url ?? RABBITMQ_URL;
  await requireRabbitMq(url);
  const args = [SCRIPT, '--url', toTransportUrl(url), '--exchange', options.exchange, '--topics', options.topics.join(',')];
  if (options.pool) args.push('--pool', options.pool);
  args.push('--workers', String(options.workers ?? 1));
  const env = { ...process.env };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  let child: ChildProcess;
  try {
    child = spawn(OSLO_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  } catch (err) {
    throw new Error(`cannot run ${OSLO_PYTHON}: ${(err as Error).message}; ${OSLO_INSTALL_HINT}`);
  }

  const received: ReceivedNotification[] = [];
  let stderr = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  let ready = false;

  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      stderr += `\n[stdout, not JSON] ${line}`;
      return;
    }
    if ((record as { ready?: boolean }).ready === true) ready = true;
    else received.push(record as ReceivedNotification);
    wake();
  });
  child.on('error', (err) => {
    spawnError = err;
    wake();
  });
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    wake();
  });

  const describeDeath = (): string => {
    if (spawnError) return `cannot run ${OSLO_PYTHON} (${spawnError.message}); ${OSLO_INSTALL_HINT}`;
    if (exited?.code === 3) return `oslo.messaging is missing: ${OSLO_INSTALL_HINT}`;
    return `oslo listener exited (${exited?.signal ?? `code ${exited?.code}`}); stderr:\n${stderr.slice(-3000)}`;
  };

  const until = (done: () => boolean, timeoutMs: number, what: () => string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (done()) finish(resolve);
        else if (spawnError || exited) finish(() => reject(new Error(describeDeath())));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${what()}; listener stderr:\n${stderr.slice(-3000)}`))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });

  const stop = async (): Promise<void> => {
    if (!exited && !spawnError) {
      child.stdin?.end();
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    await deleteOsloTopology({ exchange: options.exchange, topics: options.topics, url, ...(options.pool && { pool: options.pool }) });
  };

  try {
    await until(() => ready, options.readyTimeoutMs ?? 30_000, () => `oslo listener not ready after ${options.readyTimeoutMs ?? 30_000} ms`);
  } catch (err) {
    if (!exited && !spawnError) child.kill('SIGKILL');
    throw err;
  }

  return {
    received,
    stderr: () => stderr,
    async waitFor(count, timeoutMs = 15_000) {
      await until(
        () => received.length >= count,
        timeoutMs,
        () => `oslo listener received ${received.length} of ${count} notifications in ${timeoutMs} ms`,
      );
      return received.slice(0, count);
    },
    stop,
  };
}
