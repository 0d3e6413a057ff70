import { randomBytes, randomUUID } from 'node:crypto';
import type { FromSchema } from 'json-schema-to-ts';
import { request, type Dispatcher } from 'undici';
import { tenantScope } from '../auth/visibility.js';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../errors.js';
import type { SecretCipher } from '../secrets/cipher.js';
import type { SubscriptionRepository, SubscriptionRow } from '../store/subscription-repository.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { VIM_STATUSES, type RequestContext } from '../vims/model.js';
import { EVENT_TYPES, ISOLATION_EVENT_TYPE } from './wire.js';
import { checkCallbackUrl, type CallbackPolicy } from './callback-url.js';
import type { SubscriptionFilter } from './dispatcher.js';

/** What a subscriber may ask to receive (the API's `subscription.filter`); statuses are checked by the service. */
export const subscriptionFilterSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    vim_ids: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 1000 },
    statuses: { type: 'array', items: { type: 'string' }, maxItems: 3 },
    tenant_id: { type: 'string', minLength: 1, maxLength: 64 },
    /** MONITOR (status changes, the default), HEALTH (condition changes, `vim.health.update`), ISOLATION (a worker's isolation, administrators only). */
    event_types: { type: 'array', items: { type: 'string' }, maxItems: 3 },
    /** Also receive events stored while a VIM's notifications were held (maintenance window, flapping); false by default. */
    include_held: { type: 'boolean' },
  },
} as const;

export type SubscriptionFilterInput = FromSchema<typeof subscriptionFilterSchema>;

export interface SubscriptionInput {
  callbackUrl: string;
  filter?: SubscriptionFilterInput;
  secret?: string;
}

/** A subscription as stored: its channel, filter and delivery state (the secret sealed). */
export type Subscription = SubscriptionRow;

export type DeadLetter = Awaited<ReturnType<SubscriptionRepository['deadLetters']>>[number];

export interface CreatedSubscription {
  row: SubscriptionRow;
  /** Shown once, in the creation response; stored encrypted. */
  secret: string;
}

/**
 * Webhook subscriptions: who may subscribe to what, the callback check made
 * at creation (a GET that must answer 2xx, as ETSI NFV APIs test their
 * callback URIs) and the signing secret.
 */
export class SubscriptionService {
  constructor(
    private readonly deps: {
      repository: SubscriptionRepository;
      cipher: SecretCipher;
      clock: Clock;
      policy: CallbackPolicy;
      dispatcher: Dispatcher;
      timeoutMs: number;
    },
  ) {}

  async create(ctx: RequestContext, input: SubscriptionInput): Promise<CreatedSubscription> {
    const url = await checkCallbackUrl(input.callbackUrl, this.deps.policy);
    const filter = this.filterFor(ctx, input.filter);
    const secret = input.secret ?? randomBytes(24).toString('base64url');
    if (secret.length < 16) throw new InvalidInputError('secret must be at least 16 characters');
    await this.testCallback(url);
    const id = randomUUID();
    await this.deps.repository.insert({
      id,
      kind: 'webhook',
      tenantId: ctx.projectId,
      callbackUrl: url.toString(),
      sealedSecret: this.deps.cipher.encrypt(secret),
      filter: JSON.stringify(filter),
      createdAt: tackerTimestamp(this.deps.clock.now()),
    });
    const row = await this.deps.repository.find(id);
    if (!row) throw new NotFoundError(`subscription ${id}`);
    return { row, secret };
  }

  async list(ctx: RequestContext): Promise<SubscriptionRow[]> {
    const rows = await this.deps.repository.list();
    return rows.filter((row) => this.visible(ctx, row));
  }

  async get(ctx: RequestContext, id: string): Promise<SubscriptionRow> {
    const row = await this.deps.repository.find(id);
    if (!row || !this.visible(ctx, row)) throw new NotFoundError(`subscription ${id}`);
    return row;
  }

  /** The events given up on for a subscription the caller may see, oldest first. */
  async deadLetters(ctx: RequestContext, id: string, limit: number): Promise<DeadLetter[]> {
    const row = await this.get(ctx, id);
    return this.deps.repository.deadLetters(row.id, limit);
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const row = await this.get(ctx, id);
    if (row.kind !== 'webhook') throw new ForbiddenError('The AMQP notifier is configured, not subscribed: change notifications.amqp instead');
    await this.deps.repository.delete(id);
  }

  secretOf(row: SubscriptionRow): string {
    return this.deps.cipher.decrypt(row.secret);
  }

  /** Members receive their own tenant's events only; an administrator may narrow to one tenant or take all. */
  private filterFor(ctx: RequestContext, raw: SubscriptionFilterInput | undefined): SubscriptionFilter {
    const filter: SubscriptionFilter = {};
    if (raw?.vim_ids) filter.vim_ids = raw.vim_ids;
    if (raw?.statuses) {
      const unknown = raw.statuses.find((status) => !(VIM_STATUSES as readonly string[]).includes(status));
      if (unknown) throw new InvalidInputError(`filter.statuses: unknown status '${unknown}'; one of ${VIM_STATUSES.join(', ')}`);
      filter.statuses = raw.statuses;
    }
    const scope = tenantScope(ctx);
    if (raw?.tenant_id !== undefined && !scope.includes(raw.tenant_id)) {
      throw new ForbiddenError('Only an administrator may subscribe to another tenant');
    }
    const tenantIds = scope.narrow(raw?.tenant_id !== undefined ? [raw.tenant_id] : undefined);
    if (tenantIds) filter.tenant_ids = tenantIds;
    if (raw?.event_types) {
      const unknown = raw.event_types.find((type) => !(EVENT_TYPES as readonly string[]).includes(type));
      if (unknown !== undefined) throw new InvalidInputError(`filter.event_types: unknown event type '${unknown}'; one of ${EVENT_TYPES.join(', ')}`);
      if (raw.event_types.length === 0) throw new InvalidInputError('filter.event_types: name at least one event type, or leave it out for MONITOR');
      // A worker's isolation belongs to no tenant: a member's subscription could never receive it.
      if (raw.event_types.includes(ISOLATION_EVENT_TYPE) && !scope.all) throw new ForbiddenError('Only an administrator may subscribe to ISOLATION events');
      filter.event_types = [...new Set(raw.event_types)];
    }
    if (raw?.include_held === true) filter.include_held = true;
    return filter;
  }

  /** The AMQP channel belongs to no tenant: only an administrator sees it. */
  private visible(ctx: RequestContext, row: SubscriptionRow): boolean {
    const scope = tenantScope(ctx);
    return row.kind === 'webhook' ? scope.includes(row.tenant_id) : scope.all;
  }

  private async testCallback(url: URL): Promise<void> {
    try {
      const response = await request(url, {
        dispatcher: this.deps.dispatcher,
        method: 'GET',
        headers: { 'user-agent': 'vim-monitor' },
        signal: AbortSignal.timeout(this.deps.timeoutMs),
      });
      await response.body.dump();
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw new InvalidInputError(`callback_url test: GET answered HTTP ${response.statusCode}; a receiver must answer 2xx (ETSI NFV: 204)`);
      }
    } catch (error) {
      if (error instanceof InvalidInputError) throw error;
      throw new InvalidInputError(`callback_url test: GET failed (${(error as NodeJS.ErrnoException).code ?? (error as Error).name})`);
    }
  }
}
