import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { EventDispatcher } from '../events/dispatcher.js';
import { AmqpSink } from '../events/sinks/amqp.js';
import { SubscriptionService } from '../events/subscriptions.js';
import type { EventSink } from '../events/vim-event.js';
import { callbackGuard, type CallbackPolicy } from '../events/callback-url.js';
import { WebhookSink } from '../events/webhook-sink.js';
import type { BrokerWatch } from '../guard/broker-watch.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import { guardedAgent } from '../net/guarded-agent.js';
import type { SecretCipher } from '../secrets/cipher.js';
import type { Store } from '../store/database.js';
import { EventRepository } from '../store/event-repository.js';
import { SubscriptionRepository } from '../store/subscription-repository.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';

/** The row id of the AMQP notifier's delivery channel. */
export const AMQP_CHANNEL = 'amqp-notifications';

export interface Delivery {
  /** Resolves once configured channels exist and the dispatcher runs. */
  ready: Promise<void>;
  subscriptions: SubscriptionService;
  repository: SubscriptionRepository;
  dispatcher: EventDispatcher | undefined;
  close(): Promise<void>;
}

/** Webhook subscriptions and, when outbox.enabled, the dispatcher that delivers stored events to every channel. */
export function startDelivery(
  config: Config,
  deps: { store: Store; cipher: SecretCipher; clock: Clock; logger: Logger; owner: string; metrics?: MetricsRecorder; broker?: BrokerWatch },
): Delivery {
  const repository = new SubscriptionRepository(deps.store);
  const policy: CallbackPolicy = {
    allowLoopback: config.webhooks.allow_loopback,
    allowLinkLocal: config.webhooks.allow_link_local,
    denyCidrs: config.egress.deny_cidrs,
    allowCidrs: config.egress.allow_cidrs,
  };
  // Every connection to a callback (the test GET at creation and each delivery) is checked and pinned by the guard.
  const agent = guardedAgent(callbackGuard(policy), { connectTimeoutMs: config.webhooks.timeout * 1000 });
  const subscriptions = new SubscriptionService({
    repository,
    cipher: deps.cipher,
    clock: deps.clock,
    policy,
    dispatcher: agent,
    timeoutMs: config.webhooks.timeout * 1000,
  });
  const sinks = new Map<string, EventSink>();
  // Configured channels (not subscribed through the API): their rows are made on start so they keep a cursor too.
  const configured = new Map<string, EventSink>();
  if (config.notifications.amqp.enabled) {
    const amqp = new AmqpSink({ config: config.notifications.amqp, logger: deps.logger });
    configured.set(AMQP_CHANNEL, deps.broker ? deps.broker.wrap(amqp) : amqp);
  }
  const dispatcher = config.outbox.enabled
    ? new EventDispatcher(
        {
          owner: deps.owner,
          pollIntervalMs: config.outbox.poll_interval * 1000,
          leaseTtlMs: config.outbox.lease_ttl * 1000,
          settleMs: config.outbox.settle * 1000,
          retryBaseMs: config.outbox.retry_base * 1000,
          retryCapMs: config.outbox.retry_cap * 1000,
          deadLetterAfterMs: config.outbox.dead_letter_after * 1000,
          deliveryTimeoutMs: config.webhooks.timeout * 1000,
          batchSize: 100,
          quiet: !deps.store.driver.shared,
        },
        {
          subscriptions: repository,
          events: new EventRepository(deps.store),
          sinkFor: (row) => {
            if (row.kind !== 'webhook') return configured.get(row.id);
            let sink = sinks.get(row.id);
            if (!sink) {
              sink = new WebhookSink(
                { subscriptionId: row.id, callbackUrl: row.callback_url, secret: subscriptions.secretOf(row) },
                { dispatcher: agent, clock: deps.clock },
              );
              sinks.set(row.id, sink);
            }
            return sink;
          },
          clock: deps.clock,
          random: Math.random,
          logger: deps.logger,
          ...(deps.metrics && { metrics: deps.metrics }),
        },
      )
    : undefined;
  // On a database only this process writes, every event and channel stored passes here: the dispatcher sleeps
  // between them (an idle service polled its empty outbox twice a second, issue 13).
  const unwatch =
    dispatcher && !deps.store.driver.shared
      ? [deps.store.onInsert('vim_events', () => dispatcher.wake()), deps.store.onInsert('subscriptions', () => dispatcher.wake())]
      : [];
  const ready = config.notifications.amqp.enabled
    ? repository.ensure({
        id: AMQP_CHANNEL,
        kind: 'amqp',
        tenantId: '',
        callbackUrl: '',
        sealedSecret: '',
        filter: '{}',
        createdAt: tackerTimestamp(deps.clock.now()),
      })
    : Promise.resolve();
  return {
    ready: ready.then(() => dispatcher?.start()),
    subscriptions,
    repository,
    dispatcher,
    close: async () => {
      for (const stop of unwatch) stop();
      await dispatcher?.stop();
      for (const sink of configured.values()) await sink.close?.();
      await agent.close();
    },
  };
}
