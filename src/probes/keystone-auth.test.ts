/**
 * The auth probe on OpenStack VIMs against a real Keystone
 * (test/support/keystone.ts), seen through a recording relay where the test
 * needs to know which calls were made.
 */
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpRecorder, type HttpRecorder } from '../../test/support/http-recorder.js';
import { REGION, startKeystone, type KeystoneFixture, type KeystoneUser } from '../../test/support/keystone.js';
import { deadline, probeTarget } from '../../test/support/probe-target.js';
import type { Clock } from '../time/clock.js';
import { AuthProbe } from './auth.js';

function credentialsOf(user: KeystoneUser): Record<string, string> {
  return { username: user.username, password: user.password, user_domain_name: 'Default', cert_verify: 'True' };
}

describe('AuthProbe on OpenStack (Keystone)', () => {
  let keystone: KeystoneFixture;
  let relay: HttpRecorder;

  beforeAll(async () => {
    keystone = await startKeystone();
    relay = await startHttpRecorder(keystone.baseUrl);
  });
  afterAll(async () => {
    await relay?.stop();
    await keystone?.stop();
  });

  const targetFor = (user: KeystoneUser, base = keystone.baseUrl) =>
    probeTarget('openstack', `${base}/v3`, credentialsOf(user), { name: user.project, project_domain_name: 'Default' });

  it('accepts good credentials with a project-scoped token and reports the regions', async () => {
    const probe = new AuthProbe();
    try {
      expect(await probe.check(targetFor(keystone.member), deadline(10_000))).toEqual({
        ok: true,
        latencyMs: expect.any(Number),
        reason: `Keystone issued a token scoped to project ${keystone.member.project} (HTTP 201)`,
        regions: [REGION],
      });
    } finally {
      await probe.close();
    }
  });

  it('scopes to a project given by id', async () => {
    const probe = new AuthProbe();
    const projectId = await keystone.projectId(keystone.member.project);
    try {
      const target = probeTarget('openstack', keystone.url, credentialsOf(keystone.member), { name: 'ignored-when-id-is-given', id: projectId });
      expect(await probe.check(target, deadline(10_000))).toMatchObject({ ok: true, reason: `Keystone issued a token scoped to project id ${projectId} (HTTP 201)` });
    } finally {
      await probe.close();
    }
  });

  it('reports a wrong password as rejected credentials, without the password', async () => {
    const probe = new AuthProbe();
    const wrong = { ...keystone.member, password: 'not-the-password-4711' };
    try {
      const outcome = await probe.check(targetFor(wrong), deadline(10_000));
      expect(outcome).toEqual({ ok: false, latencyMs: expect.any(Number), reason: 'Keystone rejected the credentials (HTTP 401)' });
      expect(JSON.stringify(outcome)).not.toContain('4711');
    } finally {
      await probe.close();
    }
  });

  it('validates its cached token on later checks instead of logging in again', async () => {
    const probe = new AuthProbe();
    const target = targetFor(keystone.member, relay.url);
    try {
      relay.exchanges.length = 0;
      expect((await probe.check(target, deadline(10_000))).ok).toBe(true);
      const second = await probe.check(target, deadline(10_000));
      expect(second).toMatchObject({ ok: true, reason: `cached Keystone token still valid (HTTP 200 from ${relay.url}/v3/auth/tokens)`, regions: [REGION] });
      expect(relay.exchanges.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
        'POST /v3/auth/tokens?nocatalog 201',
        'GET /v3/regions 200',
        'GET /v3/auth/tokens?nocatalog 200',
      ]);
    } finally {
      await probe.close();
    }
  });

  it('notices a changed password at the next check through the revoked cached token', async () => {
    const user = await keystone.createUser('carol', 'nfv', ['member']);
    const probe = new AuthProbe();
    const target = targetFor(user, relay.url);
    try {
      expect((await probe.check(target, deadline(10_000))).ok).toBe(true);
      await keystone.changePassword(user, 'a-new-password-0815');
      relay.exchanges.length = 0;
      expect(await probe.check(target, deadline(10_000))).toMatchObject({ ok: false, reason: 'Keystone rejected the credentials (HTTP 401)' });
      // The revoked token is also the one asking, so Keystone refuses the validation itself (401), then the old password.
      expect(relay.exchanges.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual(['GET /v3/auth/tokens?nocatalog 401', 'POST /v3/auth/tokens?nocatalog 401']);
    } finally {
      await probe.close();
    }
  });

  it('logs in again when the cached token is about to expire', async () => {
    let now = Date.now();
    const clock: Clock = { now: () => new Date(now) };
    const probe = new AuthProbe({ clock, keystoneRenewMarginMs: 60_000 });
    const target = targetFor(keystone.member, relay.url);
    try {
      expect((await probe.check(target, deadline(10_000))).ok).toBe(true);
      now += 3_600_000; // Keystone's default token lifetime is one hour
      relay.exchanges.length = 0;
      expect(await probe.check(target, deadline(10_000))).toMatchObject({ ok: true, reason: expect.stringContaining('issued a token') });
      expect(relay.exchanges[0]).toMatchObject({ method: 'POST', path: '/v3/auth/tokens?nocatalog', status: 201 });
    } finally {
      await probe.close();
    }
  });

  it('logs in again when the credentials changed since the token was cached', async () => {
    const probe = new AuthProbe();
    const target = targetFor(keystone.member);
    try {
      expect((await probe.check(target, deadline(10_000))).ok).toBe(true);
      const changed = { ...target, credentials: { ...target.credentials, password: 'typo-in-the-update' } };
      expect(await probe.check(changed, deadline(10_000))).toMatchObject({ ok: false, reason: 'Keystone rejected the credentials (HTTP 401)' });
    } finally {
      await probe.close();
    }
  });

  it('reports an unreachable Keystone and one that never answers by its deadline', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const probe = new AuthProbe();
    try {
      const started = Date.now();
      expect(await probe.check(targetFor(keystone.member, `http://127.0.0.1:${port}`), deadline(300))).toEqual({
        ok: false,
        reason: expect.stringMatching(/^timed out after \d+ ms$/),
      });
      expect(Date.now() - started).toBeLessThan(500);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      expect(await probe.check(targetFor(keystone.member, `http://127.0.0.1:${port}`), deadline(2000))).toEqual({
        ok: false,
        reason: `connection refused (http://127.0.0.1:${port}/v3/auth/tokens)`,
      });
    } finally {
      await probe.close();
    }
  });
});
