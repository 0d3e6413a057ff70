import { randomBytes } from 'node:crypto';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookReceiver } from '../../test/support/webhook-receiver.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { SecretCipher } from '../secrets/cipher.js';
import { openStore, type Store } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { SubscriptionRepository } from '../store/subscription-repository.js';
import type { RequestContext } from '../vims/model.js';
import { SubscriptionService } from './subscriptions.js';

const alice: RequestContext = { projectId: 'project-a', isAdmin: false };
const bob: RequestContext = { projectId: 'project-b', isAdmin: false };
const admin: RequestContext = { projectId: 'admin-project', isAdmin: true };

describe('the subscription service', () => {
  let store: Store;
  let repository: SubscriptionRepository;
  let subscriptions: SubscriptionService;
  // A real receiver on loopback answers the creation-time GET.
  const receiver = new WebhookReceiver();
  const agent = new Agent();

  beforeAll(async () => {
    await receiver.up();
    store = openStore('sqlite::memory:');
    await migrateToLatest(store);
    repository = new SubscriptionRepository(store);
    subscriptions = new SubscriptionService({
      repository,
      cipher: new SecretCipher(randomBytes(32)),
      clock: { now: () => new Date() },
      policy: { allowLoopback: true, allowLinkLocal: false },
      dispatcher: agent,
      timeoutMs: 5000,
    });
    // The configured AMQP channel belongs to no tenant.
    await repository.insert({ id: 'amqp', kind: 'amqp', tenantId: '', callbackUrl: '', sealedSecret: '', filter: '{}', createdAt: '2026-01-01 00:00:00.000000' });
  });
  afterAll(async () => {
    await store?.close();
    await agent.close();
    await receiver.down();
  });

  it('keeps a member subscription to its own project events, whatever filter it asks for', async () => {
    const { row } = await subscriptions.create(alice, { callbackUrl: receiver.url });
    expect(row.tenant_id).toBe('project-a');
    expect(JSON.parse(row.filter)).toEqual({ tenant_ids: ['project-a'] });
    await expect(subscriptions.create(alice, { callbackUrl: receiver.url, filter: { tenant_id: 'project-b' } })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('lets only an administrator subscribe to ISOLATION events (a worker\'s, of no tenant)', async () => {
    await expect(subscriptions.create(alice, { callbackUrl: receiver.url, filter: { event_types: ['MONITOR', 'ISOLATION'] } })).rejects.toBeInstanceOf(ForbiddenError);
    const { row } = await subscriptions.create(admin, { callbackUrl: receiver.url, filter: { event_types: ['MONITOR', 'HEALTH', 'ISOLATION'] } });
    expect(JSON.parse(row.filter)).toEqual({ event_types: ['MONITOR', 'HEALTH', 'ISOLATION'] });
  });

  it('hides another project subscription from a member: not listed, not found, not deleted', async () => {
    const { row: theirs } = await subscriptions.create(bob, { callbackUrl: receiver.url });
    expect((await subscriptions.list(alice)).map((s) => s.tenant_id)).not.toContain('project-b');
    await expect(subscriptions.get(alice, theirs.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(subscriptions.deadLetters(alice, theirs.id, 10)).rejects.toBeInstanceOf(NotFoundError);
    await expect(subscriptions.delete(alice, theirs.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await repository.find(theirs.id)).toBeDefined();
  });

  it('hides the AMQP channel from members and shows it to an administrator', async () => {
    expect((await subscriptions.list(alice)).map((s) => s.id)).not.toContain('amqp');
    await expect(subscriptions.get(alice, 'amqp')).rejects.toBeInstanceOf(NotFoundError);
    expect((await subscriptions.get(admin, 'amqp')).kind).toBe('amqp');
  });

  it('lets an administrator see, subscribe for and delete any project subscription', async () => {
    const { row: theirs } = await subscriptions.create(bob, { callbackUrl: receiver.url });
    const { row: placed } = await subscriptions.create(admin, { callbackUrl: receiver.url, filter: { tenant_id: 'project-b' } });
    expect(JSON.parse(placed.filter)).toEqual({ tenant_ids: ['project-b'] });
    const { row: everything } = await subscriptions.create(admin, { callbackUrl: receiver.url });
    expect(JSON.parse(everything.filter)).toEqual({});
    expect((await subscriptions.list(admin)).map((s) => s.id)).toEqual(expect.arrayContaining([theirs.id, 'amqp']));
    expect(await subscriptions.deadLetters(admin, theirs.id, 10)).toEqual([]);
    await subscriptions.delete(admin, theirs.id);
    expect(await repository.find(theirs.id)).toBeUndefined();
  });
});
