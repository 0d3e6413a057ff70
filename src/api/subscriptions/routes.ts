import type { FastifyPluginAsync } from 'fastify';
import type { Subscription, SubscriptionService } from '../../events/subscriptions.js';
import { requestContext } from '../request-context.js';
import { createSubscriptionBody, subscriptionIdParams, type CreateSubscriptionBody, type SubscriptionIdParams } from './schemas.js';

export interface SubscriptionRoutesOptions {
  subscriptions: SubscriptionService;
}

/** A channel as clients see it: its delivery state, never its secret. */
function present(row: Subscription): Record<string, unknown> {
  let filter: unknown = {};
  try {
    filter = JSON.parse(row.filter);
  } catch {
    filter = {};
  }
  return {
    id: row.id,
    kind: row.kind,
    tenant_id: row.tenant_id,
    callback_url: row.callback_url,
    filter,
    created_at: row.created_at,
    delivery: {
      cursor_event_id: Number(row.cursor_event_id),
      attempts: row.attempts,
      delivered: row.delivered,
      failures: row.failures,
      dead_lettered: row.dead_lettered,
      consecutive_failures: row.retry_count,
      last_error: row.last_error,
      last_attempt_at: row.last_attempt_at,
      last_success_at: row.last_success_at,
      next_attempt_at: Number(row.next_attempt_ms) > 0 ? new Date(Number(row.next_attempt_ms)).toISOString() : null,
      worker: row.owner || null,
    },
  };
}

/** `/v1.0/subscriptions`: webhook subscriptions, their delivery state and dead letters. */
export const subscriptionRoutes: FastifyPluginAsync<SubscriptionRoutesOptions> = async (app, { subscriptions }) => {
  app.post<{ Body: CreateSubscriptionBody }>('/v1.0/subscriptions', { schema: { body: createSubscriptionBody } }, async (request, reply) => {
    const body = request.body.subscription;
    const { row, secret } = await subscriptions.create(requestContext(request), {
      callbackUrl: body.callback_url,
      ...(body.filter && { filter: body.filter }),
      ...(body.secret !== undefined && { secret: body.secret }),
    });
    request.log.info({ subscription_id: row.id }, 'subscription created');
    // The secret is returned this once, so that the receiver can verify signatures.
    return reply.code(201).send({ subscription: { ...present(row), secret } });
  });

  app.get('/v1.0/subscriptions', async (request) => ({
    subscriptions: (await subscriptions.list(requestContext(request))).map(present),
  }));

  app.get<{ Params: SubscriptionIdParams }>('/v1.0/subscriptions/:id', { schema: { params: subscriptionIdParams } }, async (request) => ({
    subscription: present(await subscriptions.get(requestContext(request), request.params.id)),
  }));

  app.delete<{ Params: SubscriptionIdParams }>('/v1.0/subscriptions/:id', { schema: { params: subscriptionIdParams } }, async (request, reply) => {
    await subscriptions.delete(requestContext(request), request.params.id);
    request.log.info({ subscription_id: request.params.id }, 'subscription deleted');
    return reply.code(204).send();
  });

  app.get<{ Params: SubscriptionIdParams }>('/v1.0/subscriptions/:id/dead-letters', { schema: { params: subscriptionIdParams } }, async (request) => {
    return { dead_letters: await subscriptions.deadLetters(requestContext(request), request.params.id, 1000) };
  });
};
