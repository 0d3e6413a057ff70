/**
 * The AMQP sink: every VimEvent becomes an OpenStack notification
 * (`vim.status.update`) published to RabbitMQ exactly as oslo.messaging's
 * `messagingv2` driver over its rabbit driver would publish it (envelope and
 * properties: oslo-envelope.ts), so any oslo.messaging notification listener
 * (Ceilometer, a Tacker or custom consumer) decodes it.
 *
 * - One connection and one confirm channel, opened lazily by the first
 *   deliver() and again by the first deliver() after they were lost.
 * - deliver() resolves only when the broker confirmed every message of the
 *   event (one per topic); it rejects on a nack, when the channel or the
 *   connection closes first, when the connection cannot be made, and when the
 *   AbortSignal fires (with the signal's reason). A rejected event may still
 *   have reached a queue: redeliver it, consumers de-duplicate on message_id.
 * - Events are published in the order deliver() was called.
 * - The broker URL's password never appears in an error or log line.
 */
import os from 'node:os';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { UpstreamUnavailableError } from '../../errors.js';
import { beforeDeadline, DEADLINE_PASSED } from '../../time/deadline.js';
import type { EventSink, VimEvent } from '../vim-event.js';
import { parseBrokerUrl, scrubSecrets, type AmqpNotificationsConfig, type BrokerAddress } from './amqp-config.js';
import { buildNotification, encodeEnvelope, OSLO_MESSAGE_PROPERTIES, routingKeys } from './oslo-envelope.js';

export { amqpNotificationsSchema, amqpNotificationsDefaults, amqpSecretConfigKeys, redactAmqpUrl } from './amqp-config.js';
export type { AmqpNotificationsConfig } from './amqp-config.js';

/** An event was not accepted by the broker. The message names the broker without its password. */
export class AmqpDeliveryError extends UpstreamUnavailableError {}

export type AmqpSinkLogger = Pick<Logger, 'info' | 'warn' | 'debug'>;

export interface AmqpSinkOptions {
  config: AmqpNotificationsConfig;
  logger?: AmqpSinkLogger;
  /** For the default publisher id `vim-monitor.<hostname>` (default os.hostname()). */
  hostname?: string;
}

export function defaultPublisherId(hostname: string = os.hostname()): string {
  return `vim-monitor.${hostname}`;
}

/** One connection with its confirm channel; replaced as a whole or channel by channel. */
interface Link {
  model: ChannelModel;
  open: boolean;
  channel: Channel | undefined;
}

interface Channel {
  channel: ConfirmChannel;
  open: boolean;
  /** Queues declared and bound on this channel (oslo declares once per connection). */
  declaredQueues: Set<string>;
  /** Rejecters of messages waiting for their confirm. */
  pending: Set<(error: Error) => void>;
}

export class AmqpSink implements EventSink {
  readonly name = 'amqp';
  readonly publisherId: string;
  private readonly broker: BrokerAddress;
  private readonly logger: AmqpSinkLogger | undefined;
  private link: Link | undefined;
  /** Publishing (connect, declare, publish; not the wait for confirms) runs one event at a time, in call order. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: AmqpSinkOptions) {
    // Throws an Error without the URL's secret when the URL is unusable.
    this.broker = parseBrokerUrl(options.config.url, { heartbeat: options.config.heartbeat });
    this.publisherId = options.config.publisher_id ?? defaultPublisherId(options.hostname);
    this.logger = options.logger;
  }

  /** The broker URL as it may be shown (password replaced by ***). */
  get brokerDisplay(): string {
    return this.broker.display;
  }

  async deliver(event: VimEvent, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.closed) throw new AmqpDeliveryError(`AMQP sink for ${this.broker.display} is closed`);
    const config = this.options.config;
    const notification = buildNotification(event, { publisherId: this.publisherId, priorities: config.priorities });
    const body = encodeEnvelope(notification);
    const keys = routingKeys(config.topics, notification.priority);

    const published = this.tail.then(() => this.publish(keys, body, signal));
    this.tail = published.then(
      () => undefined,
      () => undefined,
    );
    // The confirms are awaited outside the queue, so publishing pipelines.
    const confirmed = published.then((confirms) => Promise.all(confirms.list).then(() => undefined));
    await untilAborted(confirmed, signal);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    const link = this.link;
    this.link = undefined;
    if (!link || !link.open) return;
    link.open = false;
    // amqplib's close() waits for the broker's CloseOk, which never comes when the socket is dying:
    // settle on the connection's close event too, and give up waiting after CLOSE_WAIT_MS.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      link.model.close().catch(() => undefined),
      new Promise<void>((resolve) => link.model.once('close', () => resolve())),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          destroySocket(link.model);
          resolve();
        }, CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Publishes the event's messages; returns their confirmations (wrapped, so they are not awaited here). */
  private async publish(keys: string[], body: Buffer, signal: AbortSignal): Promise<{ list: Promise<void>[] }> {
    // Skip an event whose caller gave up while it waited for its turn.
    signal.throwIfAborted();
    if (this.closed) throw new AmqpDeliveryError(`AMQP sink for ${this.broker.display} is closed`);
    const channel = await this.channel(signal);
    const config = this.options.config;
    const list: Promise<void>[] = [];
    for (const routingKey of keys) {
      if (config.declare_queues && !channel.declaredQueues.has(routingKey)) {
        await this.step(`declare queue '${routingKey}'`, async () => {
          await channel.channel.assertQueue(routingKey, {
            durable: config.durable || config.quorum_queues,
            autoDelete: config.auto_delete,
            ...(config.quorum_queues && { arguments: { 'x-queue-type': 'quorum' } }),
          });
          await channel.channel.bindQueue(routingKey, config.exchange, routingKey);
        });
        channel.declaredQueues.add(routingKey);
      }
      // An event whose caller gave up while the connection was made is not published (it will be retried).
      signal.throwIfAborted();
      list.push(this.publishOne(channel, routingKey, body));
    }
    return { list };
  }

  private publishOne(channel: Channel, routingKey: string, body: Buffer): Promise<void> {
    const confirmation = new Promise<void>((resolve, reject) => {
      if (!channel.open) {
        reject(this.failure(`AMQP channel to ${this.broker.display} closed before publishing to '${routingKey}'`));
        return;
      }
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        channel.pending.delete(fail);
        reject(error);
      };
      channel.pending.add(fail);
      try {
        channel.channel.publish(this.options.config.exchange, routingKey, body, { ...OSLO_MESSAGE_PROPERTIES, headers: {} }, (err: unknown) => {
          if (settled) return;
          if (err) {
            const nacked = err instanceof Error && err.message === 'message nacked';
            fail(
              nacked
                ? this.failure(`broker ${this.broker.display} refused (nack) the notification to '${routingKey}'`)
                : this.failure(`AMQP channel to ${this.broker.display} closed before the broker confirmed '${routingKey}'`, err),
            );
            return;
          }
          settled = true;
          channel.pending.delete(fail);
          resolve();
        });
      } catch (err) {
        // amqplib throws when the channel closed under us: the next deliver reopens it.
        channel.open = false;
        fail(this.failure(`cannot publish to ${this.broker.display}`, err));
      }
    });
    // A caller that aborted no longer listens; the outcome must not become an unhandled rejection.
    confirmation.catch(() => undefined);
    return confirmation;
  }

  /** The open confirm channel, connecting (and declaring the exchange) first when there is none. */
  private async channel(signal: AbortSignal): Promise<Channel> {
    let link = this.link;
    if (!link || !link.open) {
      link = await this.connect(signal);
      this.link = link;
    }
    if (link.channel?.open) return link.channel;
    const model = link.model;
    const confirmChannel = await this.step('open a channel', () => model.createConfirmChannel());
    const channel: Channel = { channel: confirmChannel, open: true, declaredQueues: new Set(), pending: new Set() };
    confirmChannel.on('error', (err: unknown) => {
      this.logger?.warn({ broker: this.broker.display, err: this.scrubbedError(err) }, 'AMQP channel error');
    });
    confirmChannel.on('close', () => {
      channel.open = false;
      const error = this.failure(`AMQP channel to ${this.broker.display} closed before the broker confirmed (connection or channel lost)`);
      for (const fail of [...channel.pending]) fail(error);
    });
    link.channel = channel;
    const config = this.options.config;
    await this.step(`declare exchange '${config.exchange}'`, () =>
      confirmChannel.assertExchange(config.exchange, 'topic', { durable: config.durable || config.quorum_queues, autoDelete: config.auto_delete }),
    );
    return channel;
  }

  private async connect(signal: AbortSignal): Promise<Link> {
    const attempt = connect(this.broker.connectUrl, {
      timeout: Math.round(this.options.config.connect_timeout * 1000),
      clientProperties: { connection_name: `vim-monitor:${process.pid}:${this.publisherId}` },
    });
    let model: ChannelModel;
    try {
      model = await untilAborted(attempt, signal);
    } catch (err) {
      if (signal.aborted) {
        // Do not leave a connection that completes after the abort open and unused.
        attempt.then((late) => late.close().catch(() => undefined), () => undefined);
        throw err;
      }
      throw this.failure(`cannot connect to AMQP broker ${this.broker.display}`, err);
    }
    const link: Link = { model, open: true, channel: undefined };
    model.on('error', (err: unknown) => {
      this.logger?.warn({ broker: this.broker.display, err: this.scrubbedError(err) }, 'AMQP connection error');
    });
    model.on('close', (err: unknown) => {
      link.open = false;
      if (link.channel) link.channel.open = false;
      if (this.link === link) this.link = undefined;
      if (err) this.logger?.warn({ broker: this.broker.display, err: this.scrubbedError(err) }, 'AMQP connection lost; reconnecting on the next notification');
    });
    model.on('blocked', (reason: unknown) => {
      this.logger?.warn({ broker: this.broker.display, reason: scrubSecrets(String(reason), this.broker.secrets) }, 'AMQP broker blocks publishing');
    });
    model.on('unblocked', () => this.logger?.info({ broker: this.broker.display }, 'AMQP broker accepts publishing again'));
    if (this.closed) {
      link.open = false;
      await model.close().catch(() => undefined);
      throw new AmqpDeliveryError(`AMQP sink for ${this.broker.display} is closed`);
    }
    this.logger?.info({ broker: this.broker.display, exchange: this.options.config.exchange }, 'AMQP notifications connected');
    return link;
  }

  /** Runs a broker operation, turning its failure into an AmqpDeliveryError naming the step. */
  private async step<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw this.failure(`AMQP broker ${this.broker.display}: cannot ${what}`, err);
    }
  }

  private failure(message: string, cause?: unknown): AmqpDeliveryError {
    if (cause === undefined) return new AmqpDeliveryError(message);
    const scrubbed = this.scrubbedError(cause);
    return new AmqpDeliveryError(`${message}: ${scrubbed.message}`, { cause: scrubbed });
  }

  /** A copy of an error whose message cannot carry the password (amqplib's do not, but a broker's text could). */
  private scrubbedError(err: unknown): Error & { code?: unknown } {
    const message = err instanceof Error ? err.message : String(err);
    const copy: Error & { code?: unknown } = new Error(scrubSecrets(message, this.broker.secrets));
    if (err instanceof Error) copy.name = err.name;
    const code = (err as { code?: unknown } | null)?.code;
    if (code !== undefined) copy.code = code;
    return copy;
  }
}

const CLOSE_WAIT_MS = 2000;

/** Last resort when a close handshake does not finish: drop the TCP connection (amqplib keeps it as connection.stream). */
function destroySocket(model: ChannelModel): void {
  const stream = (model.connection as unknown as { stream?: { destroy?: () => void } }).stream;
  stream?.destroy?.();
}

/** Resolves or rejects with the promise, or rejects with the signal's reason as soon as it fires. */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const outcome = await beforeDeadline(promise, signal);
  if (outcome === DEADLINE_PASSED) throw signal.reason;
  return outcome;
}
