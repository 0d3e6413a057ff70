import type { FromSchema } from 'json-schema-to-ts';
import { subscriptionFilterSchema } from '../../events/subscriptions.js';

export const createSubscriptionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['subscription'],
  properties: {
    subscription: {
      type: 'object',
      additionalProperties: false,
      required: ['callback_url'],
      properties: {
        callback_url: { type: 'string', minLength: 1, maxLength: 2048 },
        secret: { type: 'string', minLength: 16, maxLength: 256 },
        filter: subscriptionFilterSchema,
      },
    },
  },
} as const;

export const subscriptionIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export type CreateSubscriptionBody = FromSchema<typeof createSubscriptionBody>;
export type SubscriptionIdParams = FromSchema<typeof subscriptionIdParams>;
