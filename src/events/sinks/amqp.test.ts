/**
 * The AMQP sink against the real RabbitMQ (127.0.0.1:5672, guest/guest): the
 * message as it lands in a queue, and every way deliver() must fail instead
 * of hanging (refused connection, abort, nack, connection lost before the
 * confirm, wrong password), without ever showing the password.
 */
import { randomUUID } from 'node:crypto';
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteOsloTopology, requireRabbitMq, uniqueName, RABBITMQ_URL } from '../../../test/support/oslo-listener.js';
import type { VimStatus } from '../../vims/model.js';
import type { VimEvent } from '../vim-event.js';
import { amqpNotificationsDefaults, AmqpDeliveryError, AmqpSink, type AmqpNotificationsConfig, type AmqpSinkLogger } from './amqp.js';
import { buildNotification, encodeEnvelope } from './oslo-envelope.js';

const RABBIT_PORT = Number(new URL(RABBITMQ_URL).port || 5672);
let nextId = 1;

function vimEvent(newStatus: VimStatus = 'UNREACHABLE'): VimEvent {
  return {
    id: nextId++,
    vimId: randomUUID(),
    vimName: 'edge-2',
    tenantId: 't-1',
    monitorId: 'm-1',
    oldStatus: newStatus === 'REACHABLE' ? 'UNREACHABLE' : 'REACHABLE',
    newStatus,
    reason: 'tcp: connection refused',
    probes: {},
    timestamp: '2026-02-01 08:30:00.250000',
  };
}

/** Every log line the sink wrote, as text. */
function recordingLogger(): AmqpSinkLogger & { text(): string } {
  const lines: string[] = [];
  const record = (...args: unknown[]): void => {
    lines.push(JSON.stringify(args, (_key, value: unknown) => (value instanceof Error ? { message: value.message, name: value.name } : value)));
  };
  return { info: record, warn: record, debug: record, text: () => lines.join('\n') } as unknown as AmqpSinkLogger & { text(): string };
}

function sinkConfig(overrides: Partial<AmqpNotificationsConfig>): AmqpNotificationsConfig {
  return amqpNotificationsDefaults({ enabled: true, url: RABBITMQ_URL, ...overrides });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as { port: number }).port;
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** How long a promise took to settle, and how. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  try {
    await promise;
    return { ms: performance.now() - started, error: undefined };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

/**
 * A relay to RabbitMQ that can hold back what the broker sends (its handshake,
 * the publisher confirms) and cut every connection: a broker that stalls, or
 * goes away between a publish and its confirm.
 */
class HoldingRelay {
  private readonly server = createServer((client) => this.relay(client));
  private readonly sockets = new Set<Socket>();
  private readonly held: Array<{ client: Socket; chunk: Buffer }> = [];
  holding = false;
  connections = 0;
  /** Bytes sent by the client while holding. */
  sentWhileHolding = 0;
  port = 0;

  async start(): Promise<void> {
    this.port = await listen(this.server);
  }

  private relay(client: Socket): void {
    this.connections++;
    const upstream = tcpConnect(RABBIT_PORT, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.on('data', (chunk: Buffer) => {
      if (this.holding) this.sentWhileHolding += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.holding) this.held.push({ client, chunk });
      else client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Passes on what was held back, and everything from now on. */
  release(): void {
    this.holding = false;
    for (const { client, chunk } of this.held.splice(0)) if (!client.destroyed) client.write(chunk);
  }

  cutAll(): void {
    this.held.length = 0;
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await closeServer(this.server);
  }
}

describe('AmqpSink on a real RabbitMQ', () => {
  const exchange = uniqueName('vimmon_test_sink');
  const topic = uniqueName('vimmon_test_topic');
  let admin: ChannelModel;

  beforeAll(async () => {
    await requireRabbitMq();
    admin = await connect(RABBITMQ_URL);
  });

  afterAll(async () => {
    await admin?.close();
    await deleteOsloTopology({ exchange, topics: [topic, `${topic}_nack`, `${topic}_relay`, `${topic}_skip`] });
  });

  it('publishes the envelope to a topic exchange with routing key <topic>.warn and the properties oslo uses, and leaves it in oslo’s default queue', async () => {
    const channel = await admin.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    const tap = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(tap.queue, exchange, `${topic}.*`);
    const sink = new AmqpSink({ config: sinkConfig({ exchange, topics: [topic] }), hostname: 'node-9' });
    const event = vimEvent('UNREACHABLE');
    await sink.deliver(event, AbortSignal.timeout(10_000));
    await sink.close();

    const message = await channel.get(tap.queue, { noAck: true });
    expect(message).not.toBe(false);
    if (message === false) return;
    expect(message.fields.exchange).toBe(exchange);
    expect(message.fields.routingKey).toBe(`${topic}.warn`);
    expect(message.properties).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: {},
      deliveryMode: 2,
      priority: 0,
    });
    // Byte for byte the envelope of the unit tests; only _unique_id is new on every publish, as in oslo.
    const uniqueId = (JSON.parse(JSON.parse(message.content.toString('utf8'))['oslo.message']) as { _unique_id: string })._unique_id;
    const expected = encodeEnvelope(buildNotification(event, { publisherId: 'vim-monitor.node-9', uniqueId }));
    expect(message.content.toString('utf8')).toBe(expected.toString('utf8'));
    // Like oslo's notifier, the sink declared the queue <topic>.<priority>, so nothing is lost before a listener starts.
    const defaultQueue = await channel.checkQueue(`${topic}.warn`);
    expect(defaultQueue.messageCount).toBe(1);
    await channel.close();
  });

  it('rejects at once, without hanging, when RabbitMQ refuses the connection (wrong port), and retries on the next deliver', async () => {
    const probe = createServer();
    const port = await listen(probe);
    await closeServer(probe); // nothing listens there any more: connection refused
    const logger = recordingLogger();
    const sink = new AmqpSink({ config: sinkConfig({ url: `amqp://guest:not-the-password-4711@127.0.0.1:${port}/`, exchange, topics: [topic] }), logger });
    for (let attempt = 0; attempt < 2; attempt++) {
      const { ms, error } = await timed(sink.deliver(vimEvent(), AbortSignal.timeout(10_000)));
      expect(error).toBeInstanceOf(AmqpDeliveryError);
      expect((error as Error).message).toContain(`cannot connect to AMQP broker amqp://guest:***@127.0.0.1:${port}/`);
      expect((error as Error).message).toContain('ECONNREFUSED');
      expect((error as Error).message).not.toContain('not-the-password-4711');
      expect(ms).toBeLessThan(2000);
    }
    expect(logger.text()).not.toContain('not-the-password-4711');
    await sink.close();
  });

  it('rejects with the signal’s reason when the signal aborts while the broker does not answer, and at once when it already fired', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket)); // accepts, never speaks AMQP
    const port = await listen(silent);
    const sink = new AmqpSink({ config: sinkConfig({ url: `amqp://guest:guest@127.0.0.1:${port}/`, connect_timeout: 60, exchange, topics: [topic] }) });

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 200);
    const waiting = await timed(sink.deliver(vimEvent(), controller.signal));
    expect((waiting.error as Error).message).toBe('shutting down');
    expect(waiting.ms).toBeGreaterThanOrEqual(150);
    expect(waiting.ms).toBeLessThan(1500);

    const timeout = await timed(sink.deliver(vimEvent(), AbortSignal.timeout(100)));
    expect((timeout.error as Error).name).toBe('TimeoutError');
    expect(timeout.ms).toBeLessThan(1500);

    const already = await timed(sink.deliver(vimEvent(), AbortSignal.abort(new Error('gone'))));
    expect((already.error as Error).message).toBe('gone');
    expect(already.ms).toBeLessThan(50);

    for (const socket of sockets) socket.destroy();
    await closeServer(silent);
    await sink.close();
  });

  it('rejects when the broker refuses the message (nack)', async () => {
    const nackTopic = `${topic}_nack`;
    const channel = await admin.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    // A full queue that rejects new messages makes RabbitMQ nack the publish.
    await channel.assertQueue(`${nackTopic}.info`, { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    await channel.bindQueue(`${nackTopic}.info`, exchange, `${nackTopic}.info`);
    await channel.close();
    const sink = new AmqpSink({ config: sinkConfig({ exchange, topics: [nackTopic], declare_queues: false }) });
    const { ms, error } = await timed(sink.deliver(vimEvent('REACHABLE'), AbortSignal.timeout(10_000)));
    expect(error).toBeInstanceOf(AmqpDeliveryError);
    expect((error as Error).message).toMatch(/refused \(nack\) the notification to '.*_nack\.info'/);
    expect(ms).toBeLessThan(2000);
    await sink.close();
  });

  it('rejects when the connection closes before the broker confirmed, and reconnects on the next deliver', async () => {
    const relayTopic = `${topic}_relay`;
    const relay = new HoldingRelay();
    await relay.start();
    const logger = recordingLogger();
    const sink = new AmqpSink({ config: sinkConfig({ url: `amqp://guest:guest@127.0.0.1:${relay.port}/`, exchange, topics: [relayTopic] }), logger });
    await sink.deliver(vimEvent(), AbortSignal.timeout(10_000));
    expect(relay.connections).toBe(1);

    relay.holding = true; // the broker's confirm will not get through
    const pending = timed(sink.deliver(vimEvent(), AbortSignal.timeout(20_000)));
    const deadline = Date.now() + 5000;
    while (relay.sentWhileHolding === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(relay.sentWhileHolding).toBeGreaterThan(0); // published, waiting for the confirm
    relay.cutAll();
    const { ms, error } = await pending;
    expect(error).toBeInstanceOf(AmqpDeliveryError);
    expect((error as Error).message).toContain('closed before the broker confirmed');
    expect(ms).toBeLessThan(6000);

    relay.holding = false;
    await sink.deliver(vimEvent(), AbortSignal.timeout(10_000));
    expect(relay.connections).toBe(2);
    expect(logger.text()).toContain('AMQP connection lost');
    await sink.close();
    await relay.stop();
  });

  it('rejects with the signal’s reason when the signal aborts while the broker’s confirm is outstanding', async () => {
    const relay = new HoldingRelay();
    await relay.start();
    const sink = new AmqpSink({ config: sinkConfig({ url: `amqp://guest:guest@127.0.0.1:${relay.port}/`, exchange, topics: [`${topic}_relay`] }) });
    await sink.deliver(vimEvent(), AbortSignal.timeout(10_000));

    relay.holding = true;
    const controller = new AbortController();
    const pending = timed(sink.deliver(vimEvent(), controller.signal));
    const deadline = Date.now() + 5000;
    while (relay.sentWhileHolding === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(relay.sentWhileHolding).toBeGreaterThan(0);
    const abortedAt = performance.now();
    controller.abort(new Error('deadline passed'));
    const { error } = await pending;
    expect((error as Error).message).toBe('deadline passed');
    expect(performance.now() - abortedAt).toBeLessThan(200);

    relay.cutAll();
    relay.holding = false;
    await sink.close();
    await relay.stop();
  });

  it('does not publish an event whose signal fired while it waited for the connection, and publishes the next one', async () => {
    const skipTopic = `${topic}_skip`;
    const channel = await admin.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    const tap = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(tap.queue, exchange, `${skipTopic}.*`);
    const relay = new HoldingRelay();
    await relay.start();
    relay.holding = true; // the broker's side of the handshake is held back
    const sink = new AmqpSink({ config: sinkConfig({ url: `amqp://guest:guest@127.0.0.1:${relay.port}/`, exchange, topics: [skipTopic] }) });
    const controller = new AbortController();
    const abandoned = vimEvent();
    const next = vimEvent();
    const first = timed(sink.deliver(abandoned, controller.signal));
    const second = sink.deliver(next, AbortSignal.timeout(10_000));
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort(new Error('caller gave up'));
    expect(((await first).error as Error).message).toBe('caller gave up');
    relay.release();
    await second;
    await sink.close();

    const ids: number[] = [];
    for (let message = await channel.get(tap.queue, { noAck: true }); message !== false; message = await channel.get(tap.queue, { noAck: true })) {
      ids.push((JSON.parse(JSON.parse(message.content.toString('utf8'))['oslo.message']) as { payload: { event_id: number } }).payload.event_id);
    }
    expect(ids).toEqual([next.id]);
    await channel.close();
    await relay.stop();
  });

  it('rejects a wrong password with a message and log lines that never show it', async () => {
    const logger = recordingLogger();
    const secret = 'Wr0ng:pa ss@word';
    const url = `amqp://guest:${encodeURIComponent(secret)}@127.0.0.1:${RABBIT_PORT}/`;
    const sink = new AmqpSink({ config: sinkConfig({ url, exchange, topics: [topic] }), logger });
    const { ms, error } = await timed(sink.deliver(vimEvent(), AbortSignal.timeout(10_000)));
    expect(error).toBeInstanceOf(AmqpDeliveryError);
    const message = (error as Error).message;
    expect(message).toContain('amqp://guest:***@127.0.0.1');
    expect(message).toMatch(/ACCESS.REFUSED|403/);
    for (const shown of [message, String((error as Error).cause), logger.text(), sink.brokerDisplay]) {
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain(encodeURIComponent(secret));
    }
    expect(ms).toBeLessThan(5000);
    await sink.close();
  });

  it('rejects with RabbitMQ’s reason when its durability differs from the listeners’ exchange, each time it is tried', async () => {
    const channel = await admin.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false }); // as oslo's listeners declare it by default
    await channel.close();
    const sink = new AmqpSink({ config: sinkConfig({ exchange, topics: [topic], durable: true }) });
    for (let attempt = 0; attempt < 2; attempt++) {
      const { ms, error } = await timed(sink.deliver(vimEvent(), AbortSignal.timeout(10_000)));
      expect(error).toBeInstanceOf(AmqpDeliveryError);
      expect((error as Error).message).toContain(`cannot declare exchange '${exchange}'`);
      expect((error as Error).message).toMatch(/PRECONDITION_FAILED - inequivalent arg 'durable'/);
      expect(ms).toBeLessThan(2000);
    }
    await sink.close();
  });

  it('refuses to deliver once closed', async () => {
    const sink = new AmqpSink({ config: sinkConfig({ exchange, topics: [topic] }) });
    await sink.close();
    await expect(sink.deliver(vimEvent(), AbortSignal.timeout(1000))).rejects.toThrow(/is closed/);
  });
});
