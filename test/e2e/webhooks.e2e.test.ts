/**
 * Webhooks end to end: a real HTTP receiver on loopback that goes down for a
 * while and comes back, signatures checked as a receiver would, nothing lost,
 * order kept, dead letters, and a restart of the service in the middle of a
 * delivery backlog. Probe results are scripted: what is under test here is
 * delivery, not probing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/events/webhook-signature.js';
import { openstackVim } from '../support/fixtures.js';
import { waitFor } from '../support/monitoring.js';
import { ScriptedProbe } from '../support/scripted-probe.js';
import { startTestService, type TestService } from '../support/service.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const monitor = { probes: ['tcp' as const], interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 };

describe('webhook subscriptions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-hooks-'));
  const databaseUrl = `sqlite:${join(dir, 'hooks.db')}`;
  const secretKey = Buffer.alloc(32, 3).toString('base64');
  const probe = new ScriptedProbe('tcp');
  const receiver = new WebhookReceiver();
  let service: TestService;

  beforeAll(async () => {
    await receiver.up();
    service = await startTestService({ databaseUrl, secretKey, monitoring: { probes: [probe], monitor, manager: { sweep_interval: 0.5 } } });
  });
  afterAll(async () => {
    await service?.stop();
    await receiver.down();
    rmSync(dir, { recursive: true, force: true });
  });

  async function flip(vimId: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const before = (await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status;
      probe.set(vimId, before === 'REACHABLE' ? 'fail' : 'ok');
      await waitFor('a flip', async () => ((await service.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status !== before ? true : undefined));
    }
  }

  function chainOf(vimId: string): string[] {
    return receiver
      .events()
      .filter((e) => e.resource_id === vimId)
      .map((e) => `${e.event_details.old_status}->${e.resource_state}`);
  }

  let secret = '';
  let subscriptionId = '';
  let vimId = '';

  it('checks the callback at creation, returns the secret once, and delivers signed events', async () => {
    const created = await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: receiver.url } } });
    expect(created.status, created.text).toBe(201);
    expect(receiver.checks.length).toBe(1);
    secret = created.json.subscription.secret;
    subscriptionId = created.json.subscription.id;
    expect(secret.length).toBeGreaterThanOrEqual(16);
    const shown = await service.api('GET', `/v1.0/subscriptions/${subscriptionId}`);
    expect(shown.text).not.toContain(secret);

    vimId = (await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'hooked' }) } })).json.vim.id;
    await waitFor('the first event', () => (receiver.received.length >= 1 ? true : undefined), 5_000);
    const first = receiver.received[0]!;
    const now = Math.floor(Date.now() / 1000);
    expect(verifySignature(secret, first.body, String(first.headers['x-vim-monitor-signature']), now)).toBe(true);
    expect(verifySignature('another-secret-value', first.body, String(first.headers['x-vim-monitor-signature']), now)).toBe(false);
    expect(first.headers['x-vim-monitor-event-id']).toBe(String(receiver.events()[0]?.id));
    expect(chainOf(vimId)).toEqual(['PENDING->REACHABLE']);
  });

  it('keeps events for a receiver that is down and delivers them all, in order, when it returns', async () => {
    await receiver.down();
    await flip(vimId, 4);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const failing = (await service.api('GET', `/v1.0/subscriptions/${subscriptionId}`)).json.subscription.delivery;
    expect(failing.failures).toBeGreaterThan(0);
    expect(failing.last_error).toMatch(/ECONNREFUSED/);
    await receiver.up();
    await waitFor('the backlog', () => (chainOf(vimId).length >= 5 ? true : undefined), 10_000);
    expect(chainOf(vimId)).toEqual(['PENDING->REACHABLE', 'REACHABLE->UNREACHABLE', 'UNREACHABLE->REACHABLE', 'REACHABLE->UNREACHABLE', 'UNREACHABLE->REACHABLE']);
    const ids = receiver.events().map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    for (const r of receiver.received) {
      expect(verifySignature(secret, r.body, String(r.headers['x-vim-monitor-signature']), Math.floor(Date.now() / 1000))).toBe(true);
    }
  });

  it('delivers a backlog left by a restart in the middle of delivery', async () => {
    receiver.mode = 'error';
    await flip(vimId, 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await service.stop();
    receiver.mode = 'ok';
    service = await startTestService({ databaseUrl, secretKey, monitoring: { probes: [probe], monitor, manager: { sweep_interval: 0.5 } } });
    await waitFor('the backlog after restart', () => (chainOf(vimId).length >= 7 ? true : undefined), 10_000);
    expect(chainOf(vimId).slice(5)).toEqual(['REACHABLE->UNREACHABLE', 'UNREACHABLE->REACHABLE']);
  });

  it('dead-letters events still undeliverable after outbox.dead_letter_after, visible in the API', async () => {
    await service.stop();
    service = await startTestService({
      databaseUrl,
      secretKey,
      monitoring: { probes: [probe], monitor, manager: { sweep_interval: 0.5 } },
      outbox: { dead_letter_after: 0.5 },
    });
    receiver.mode = 'error';
    await flip(vimId, 1);
    const letters = await waitFor('a dead letter', async () => {
      const list = (await service.api('GET', `/v1.0/subscriptions/${subscriptionId}/dead-letters`)).json.dead_letters;
      return list.length > 0 ? list : undefined;
    }, 10_000);
    expect(letters[0]).toMatchObject({ event_id: expect.any(Number), last_error: expect.stringMatching(/HTTP 500/) });
    receiver.mode = 'ok';
    const delivery = (await service.api('GET', `/v1.0/subscriptions/${subscriptionId}`)).json.subscription.delivery;
    expect(delivery.dead_lettered).toBeGreaterThanOrEqual(1);
  });

  it('refuses bad callbacks with a 400 and stores nothing', async () => {
    const before = (await service.api('GET', '/v1.0/subscriptions')).json.subscriptions.length;
    const cases = [
      ['http://169.254.169.254/latest/meta-data', /link-local or metadata/],
      ['http://[fe80::1]/hook', /link-local or metadata/],
      ['ftp://127.0.0.1/hook', /http or https/],
      ['http://user:pw@127.0.0.1/hook', /user information/],
      ['http://127.0.0.1:1/closed', /callback_url test: GET failed/],
      ['not a url', /absolute http/],
    ] as const;
    for (const [url, message] of cases) {
      const response = await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: url } } });
      expect(response.status, url).toBe(400);
      expect(response.json.TackerError.message).toMatch(message);
    }
    const badStatus = await service.api('POST', '/v1.0/subscriptions', {
      body: { subscription: { callback_url: receiver.url, filter: { statuses: ['DOWN'] } } },
    });
    expect(badStatus.status).toBe(400);
    expect((await service.api('GET', '/v1.0/subscriptions')).json.subscriptions.length).toBe(before);
  });

  it('deletes a subscription: 204, then 404', async () => {
    expect((await service.api('DELETE', `/v1.0/subscriptions/${subscriptionId}`)).status).toBe(204);
    expect((await service.api('GET', `/v1.0/subscriptions/${subscriptionId}`)).status).toBe(404);
  });
});

describe('webhook callbacks on loopback', () => {
  it('are refused unless webhooks.allow_loopback is true', async () => {
    const receiver = new WebhookReceiver();
    await receiver.up();
    const service = await startTestService({ webhooks: { allow_loopback: false } });
    try {
      const response = await service.api('POST', '/v1.0/subscriptions', { body: { subscription: { callback_url: receiver.url } } });
      expect(response.status).toBe(400);
      expect(response.json.TackerError.message).toMatch(/loopback address; refused unless webhooks.allow_loopback/);
      expect(receiver.checks).toEqual([]);
    } finally {
      await service.stop();
      await receiver.down();
    }
  });
});
